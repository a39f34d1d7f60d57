"""Small helpers for ZeroMQ endpoints and envelopes."""

from __future__ import annotations

import ipaddress
import re
from typing import TypedDict

import zmq

from controlroom.rpc.errors import InsecureServer


class ServerEndpoints(TypedDict, total=False):
    """Where a control server binds, as its builders take it (None or left out: the Settings')."""

    endpoint: str | None
    pub_endpoint: str | None


def bindable(endpoint: str) -> str:
    """``tcp://host:0`` means "any free port", which ZeroMQ spells ``tcp://host:*``."""
    if endpoint.startswith("tcp://") and endpoint.endswith(":0"):
        return endpoint[:-1] + "*"
    return endpoint


def bind(socket: zmq.Socket[bytes], endpoint: str) -> str:
    """Bind and return the endpoint actually bound (with the port the OS chose).

    Anything beyond loopback needs CURVE (:mod:`controlroom.rpc.curve`): a plain
    socket on a lab network would let anyone there command the lab.
    """
    if not is_loopback(endpoint) and int(socket.getsockopt(zmq.MECHANISM)) != int(zmq.CURVE):
        raise InsecureServer(
            f"refusing to serve on {endpoint} without CURVE: anyone on that network could "
            "command the lab. Create keys with `controlroom keys init` and set security.keys "
            "in the Settings, or bind to 127.0.0.1"
        )
    socket.bind(bindable(endpoint))
    bound = socket.getsockopt(zmq.LAST_ENDPOINT)
    return bound.decode() if isinstance(bound, bytes) else str(bound)


def is_loopback(endpoint: str) -> bool:
    """True for ``inproc://``, ``ipc://`` and TCP on a loopback address or ``localhost``."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("inproc", "ipc"):
        return True
    host = rest.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name or a wildcard: may reach beyond this machine
        return False


def connectable(endpoint: str) -> str:
    """A bound wildcard address is reached through loopback by local clients."""
    return endpoint.replace("tcp://0.0.0.0:", "tcp://127.0.0.1:").replace(
        "tcp://*:", "tcp://127.0.0.1:"
    )


def split_route(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Split ROUTER frames into (routing prefix, message body).

    DEALER clients send ``[identity, body...]``; REQ clients (other languages)
    add an empty delimiter, which must be echoed for the reply to reach them.
    """
    if len(frames) > 2 and frames[1] == b"":
        return frames[:2], frames[2:]
    return frames[:1], frames[1:]


MAX_ENDPOINT_CHARS = 300
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def tcp_peer(endpoint: object) -> str:
    """``endpoint`` if it is ``tcp://host:port`` that a client can connect to, else ValueError.

    Used for addresses a client hands us to connect to later (listeners): only
    TCP to a named host and port, never ``ipc://`` (a local file), ``inproc://``
    (our own sockets), a wildcard host, ZeroMQ's ``source;peer`` form or junk.
    """
    if not isinstance(endpoint, str):
        raise ValueError(
            f"an endpoint is a string (tcp://host:port), not {type(endpoint).__name__}"
        )
    shown = endpoint if len(endpoint) <= 80 else endpoint[:77] + "..."
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise ValueError(f"endpoint {shown!r} is longer than {MAX_ENDPOINT_CHARS} characters")
    scheme, separator, address = endpoint.partition("://")
    if not separator or scheme != "tcp":
        raise ValueError(f"endpoint {shown!r} is not tcp://host:port (only TCP is accepted)")
    host, colon, port = address.rpartition(":")
    if not colon or not _is_port(port):
        raise ValueError(f"endpoint {shown!r} has no port from 1 to 65535")
    if not _is_host(host):
        raise ValueError(f"endpoint {shown!r} has no host name or address to connect to")
    return endpoint


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def _is_host(text: str) -> bool:
    if text.startswith("[") and text.endswith("]"):
        return _is_address(text[1:-1], ipaddress.IPv6Address)
    if text and all(c.isdigit() or c == "." for c in text):
        return _is_address(text, ipaddress.IPv4Address)
    labels = text.split(".")
    return 0 < len(text) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _is_address(text: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        return not kind(text).is_unspecified  # 0.0.0.0 and :: are wildcards, not peers
    except ValueError:
        return False
