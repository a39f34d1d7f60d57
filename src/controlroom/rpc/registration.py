"""A control server's registration with the registry: at start, by heartbeat, until it stops.

:func:`attach_registration` gives a server a :class:`Registration`: a thread
that waits until the server answers, registers the endpoints it actually
bound (port 0 allowed), sends a heartbeat every ``heartbeat_s`` and
unregisters when the server stops. It never touches the server's command
loop, and a registry that is down only costs a log line: the thread keeps
trying. A heartbeat answered ``unknown`` (the registry restarted and forgot
us) is followed by a new registration, so a restarted registry is
re-populated by the live servers themselves.

A server bound to a wildcard address (``tcp://0.0.0.0:P``, ``tcp://*:P``)
advertises ``tcp://<advertise_host>:P``, so clients on other hosts can reach
it; one bound to loopback advertises loopback. Its entry names the host it
runs on (:func:`controlroom.rpc.hosts.this_host`), so the registry knows
which host's process each server is.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import zmq

from controlroom.rpc.endpoints import connectable
from controlroom.rpc.errors import RpcError
from controlroom.rpc.hosts import WILDCARD_HOSTS, host_address, this_host
from controlroom.rpc.proxy import Proxy
from controlroom.rpc.server import ControlServer

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
UNKNOWN = "unknown"  # the registry's answer to a heartbeat from a name it does not know
_SLICE_S = 0.1  # how long the thread sleeps before looking at the server's stop flag again


def advertised(endpoint: str, advertise_host: str | None = None) -> str:
    """The address clients should use for a socket bound at ``endpoint``."""
    scheme, _, rest = endpoint.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host:
        return endpoint  # ipc and inproc are reached by their path or name
    if host in WILDCARD_HOSTS:
        return f"tcp://{advertise_host or socket.gethostname()}:{port}"
    if host == "localhost":
        return f"tcp://{LOOPBACK}:{port}"
    # Bound to one address (loopback or one interface): that address is the one to use.
    return endpoint


def advertise_host_of(settings: Mapping[str, Any], host: str | None = None) -> str:
    """The address servers of ``host`` (default: this one, :func:`this_host`) advertise.

    ``services.registry.advertise_host`` if set, else the address of the host's
    ``hosts`` entry, else ``hosts.default``, else the machine's name.
    """
    chosen = str(settings["services"]["registry"].get("advertise_host") or "")
    name = host or this_host(settings)
    return (
        chosen
        or host_address(settings, name)
        or host_address(settings, "default")
        or socket.gethostname()
    )


class Registration:
    """Keeps ``server`` registered with the registry at ``registry_endpoint``."""

    def __init__(
        self,
        server: ControlServer,
        registry_endpoint: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        advertise_host: str | None = None,
        host: str | None = None,
        heartbeat_s: float = 2.0,
        timeout_s: float | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if not heartbeat_s > 0:
            raise ValueError(f"the heartbeat period must be positive, not {heartbeat_s!r}")
        self.server = server
        self.registry_endpoint = registry_endpoint
        self.metadata = dict(metadata or {})
        self.advertise_host = advertise_host
        self.host = host or socket.gethostname()  # the Settings' name of our host
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s or min(1.0, heartbeat_s)
        self.registered = threading.Event()  # set while the registry is known to have us
        self.registrations = 0  # how often we registered: 1 + re-registrations
        self._context = context or zmq.Context.instance()
        self._stop = threading.Event()
        self._reachable = True  # to log an outage once, not at every heartbeat
        self._thread = threading.Thread(
            target=self._run, name=f"{server.name}-registration", daemon=True
        )

    def start(self) -> Registration:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Unregister (if registered) and end the thread; idempotent."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def endpoints(self) -> dict[str, str]:
        """The server's endpoints as clients should reach them."""
        return {role: advertised(a, self.advertise_host) for role, a in _bound(self.server).items()}

    # -- the thread --------------------------------------------------------------

    def _run(self) -> None:
        with Proxy(
            self.registry_endpoint, name="registry", timeout=self.timeout_s, context=self._context
        ) as registry:
            if not self._wait_serving():
                return
            self._register(registry)
            while not self._pause(self.heartbeat_s):
                self._beat(registry)
            if self.registered.is_set():
                self._call(registry, "unregister", self.server.name)
                self.registered.clear()

    def _wait_serving(self) -> bool:
        """Wait until the server has bound its ports and answers; False if it stops first."""
        while not all(not a.endswith((":0", ":*")) for a in _bound(self.server).values()):
            if self._pause(_SLICE_S):
                return False
        with Proxy(self.server.endpoint, name=self.server.name, context=self._context) as me:
            while not self._answers(me):
                if self._pause(_SLICE_S):
                    return False
        return True

    def _answers(self, me: Proxy) -> bool:
        try:
            return me.ping(self.timeout_s) == "pong"
        except RpcError:
            return False

    def _register(self, registry: Proxy) -> None:
        metadata = {
            "pid": os.getpid(),
            "host": self.host,
            "machine": socket.gethostname(),
            **self.metadata,
        }
        metadata.setdefault("started", self.server.started_at)
        if self._call(registry, "register", self.server.name, self.endpoints(), metadata):
            self.registrations += 1
            self.registered.set()

    def _beat(self, registry: Proxy) -> None:
        if not self.registered.is_set():
            self._register(registry)
        elif self._call(registry, "heartbeat", self.server.name) == UNKNOWN:
            log.info("%s: the registry forgot us; registering again", self.server.name)
            self.registered.clear()
            self._register(registry)

    def _call(self, registry: Proxy, command: str, *args: Any) -> Any:
        """One request to the registry; None (and one log line per outage) if it fails."""
        try:
            answer = registry.request(command, args)
        except RpcError as exc:
            if self._reachable:
                log.warning("%s: registry %s: %s", self.server.name, command, exc)
            self._reachable = False
            return None
        if not self._reachable:
            log.info("%s: the registry answers again", self.server.name)
        self._reachable = True
        return answer

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; True as soon as we or the server are told to stop."""
        deadline = time.monotonic() + seconds
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._stop.wait(min(remaining, _SLICE_S)):
                return True
        return True


def _bound(server: ControlServer) -> dict[str, str]:
    # The addresses as bound: the public endpoint properties name loopback for a
    # wildcard bind, which would hide it from clients on other hosts.
    return dict(server._endpoints)


def attach_registration(
    server: ControlServer,
    registry_endpoint: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    advertise_host: str | None = None,
    host: str | None = None,
    heartbeat_s: float = 2.0,
) -> Registration:
    """Keep ``server`` registered from when it serves until it stops; call before or after start.

    Call :meth:`Registration.stop` after the server stopped to unregister at once
    (otherwise the registry drops it after its TTL).
    """
    registration = Registration(
        server,
        connectable(registry_endpoint),
        metadata=metadata,
        advertise_host=advertise_host,
        host=host,
        heartbeat_s=heartbeat_s,
    )
    return registration.start()


def attach_from_settings(
    server: ControlServer,
    settings: Mapping[str, Any],
    *,
    metadata: Mapping[str, Any] | None = None,
) -> Registration:
    """:func:`attach_registration` with the registry, heartbeat and host the Settings name."""
    entry = settings["services"]["registry"]
    host = this_host(settings)
    return attach_registration(
        server,
        str(entry["commands"]),
        metadata=metadata,
        advertise_host=advertise_host_of(settings, host),
        host=host,
        heartbeat_s=float(entry["heartbeat_s"]),
    )
