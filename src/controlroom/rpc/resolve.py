"""Finding a server by name: ask the registry, fall back to the Settings.

:func:`resolve` asks the registry (with a short timeout, so a registry that
is down costs a fraction of a second) and, when it does not answer or does
not know the name, takes the endpoints from a fallback mapping -- the
Settings' ``services`` and ``devices`` entries, see :func:`settings_fallback`.
:func:`proxy_for` makes a proxy from the result::

    tempctl = proxy_for(
        "tempctl",
        registry_endpoint=registry_endpoint_of(settings),
        fallback=settings_fallback(settings),
        proxy_type=proxy_class(TempCtlController),  # or Proxy for service commands only
    )

A proxy resolves once: a server that comes back on the same endpoints is
found again by the proxy itself; one that moves needs a new proxy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import zmq

from controlroom.rpc.endpoints import connectable
from controlroom.rpc.errors import CallTimeout, RemoteError, RpcError, ServerUnavailable
from controlroom.rpc.hosts import host_address
from controlroom.rpc.proxy import Proxy

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Proxy)
Fallback = Mapping[str, Mapping[str, Any]]
RESOLVE_TIMEOUT_S = 0.5
_ROLES = ("commands", "publish")


class ServiceNotFound(RpcError, LookupError):
    """Neither the registry nor the fallback knows a reachable address for the name."""


class ServerDown(ServerUnavailable):
    """The registry lost the server's heartbeats: it is down (or its host is cut off)."""


def resolve(
    name: str,
    *,
    registry_endpoint: str | None,
    fallback: Fallback | None = None,
    timeout_s: float = RESOLVE_TIMEOUT_S,
    context: zmq.Context[Any] | None = None,
) -> dict[str, str]:
    """The endpoints of server ``name`` ({commands, publish, ...}) from the registry or fallback."""
    entry = None
    if registry_endpoint:
        entry = lookup(name, registry_endpoint, timeout_s=timeout_s, context=context)
    if entry is not None and entry.get("lost"):
        raise ServerDown(down_message(entry))
    if entry is not None:
        return {str(role): str(address) for role, address in entry["endpoints"].items()}
    return _from_fallback(name, fallback or {})


def down_message(entry: Mapping[str, Any]) -> str:
    """``tempctl (host cryo) is down: no heartbeat since 12:00:03Z (the registry)``."""
    since = time.strftime("%H:%M:%SZ", time.gmtime(float(entry.get("last_heartbeat") or 0)))
    host = f" (host {entry['host']})" if entry.get("host") else ""
    return f"{entry.get('name')}{host} is down: no heartbeat since {since} (the registry)"


def lookup(
    name: str,
    registry_endpoint: str,
    *,
    timeout_s: float = RESOLVE_TIMEOUT_S,
    context: zmq.Context[Any] | None = None,
) -> dict[str, Any] | None:
    """The registry's entry for ``name``; None if it has none or does not answer in time.

    A server whose heartbeats stopped is not registered any more, but the
    registry remembers it: its last entry comes back with ``lost: True``.
    """
    with Proxy(
        connectable(registry_endpoint), name="registry", timeout=timeout_s, context=context
    ) as registry:
        try:
            entry = registry.request("lookup", (name,))
            if entry is None:
                entry = _lost(registry, name)
        except CallTimeout as exc:  # down or unreachable: the fallback is the answer
            log.debug("registry at %s did not answer for %s: %s", registry_endpoint, name, exc)
            return None
    return entry if isinstance(entry, dict) else None


def _lost(registry: Proxy, name: str) -> dict[str, Any] | None:
    try:
        lost = registry.request("lost", (name,))
    except RemoteError:  # a registry without ``lost``: nothing known
        return None
    return {**lost, "lost": True} if isinstance(lost, dict) else None


def _from_fallback(name: str, fallback: Fallback) -> dict[str, str]:
    entry = fallback.get(name)
    if entry is None:
        raise ServiceNotFound(f"{name!r} is not registered and has no endpoints in the settings")
    found = {role: connectable(str(entry[role])) for role in _ROLES if entry.get(role)}
    commands = found.get("commands", "")
    if not commands or commands.endswith((":0", ":*")):
        raise ServiceNotFound(
            f"{name!r} is not registered, and its settings endpoint {commands or '(none)'} "
            "names no fixed port"
        )
    return found


def registry_endpoint_of(settings: Mapping[str, Any]) -> str:
    """Where clients reach the registry, from the Settings."""
    entry = settings["services"]["registry"]
    return on_host(str(entry["commands"]), _address_of(settings, entry))


def settings_fallback(settings: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Name → endpoints of every core service and device the Settings give endpoints for."""
    found: dict[str, dict[str, str]] = {}
    for section in ("services", "devices"):
        for name, entry in (settings.get(section) or {}).items():
            if isinstance(entry, Mapping) and entry.get("commands"):
                address = _address_of(settings, entry)
                found[str(name)] = {
                    r: on_host(str(entry[r]), address) for r in _ROLES if entry.get(r)
                }
    return found


_WILDCARDS = ("tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:")


def on_host(endpoint: str, address: str | None) -> str:
    """``endpoint`` as a client reaches it: a wildcard host becomes ``address`` (the
    address of the entry's ``host``), else loopback."""
    if address:
        for wildcard in _WILDCARDS:
            if endpoint.startswith(wildcard):
                return f"tcp://{address}:{endpoint[len(wildcard) :]}"
    return connectable(endpoint)


def _address_of(settings: Mapping[str, Any], entry: Mapping[str, Any]) -> str | None:
    host = entry.get("host")
    return host_address(settings, host) if isinstance(host, str) and host else None


@overload
def proxy_for(
    name: str,
    *,
    registry_endpoint: str | None,
    fallback: Fallback | None = None,
    proxy_type: Callable[..., P],
    resolve_timeout_s: float = RESOLVE_TIMEOUT_S,
    **options: Any,
) -> P: ...


@overload
def proxy_for(
    name: str,
    *,
    registry_endpoint: str | None,
    fallback: Fallback | None = None,
    resolve_timeout_s: float = RESOLVE_TIMEOUT_S,
    **options: Any,
) -> Proxy: ...


def proxy_for(
    name: str,
    *,
    registry_endpoint: str | None,
    fallback: Fallback | None = None,
    proxy_type: Callable[..., Proxy] = Proxy,
    resolve_timeout_s: float = RESOLVE_TIMEOUT_S,
    **options: Any,
) -> Proxy:
    """A proxy (of ``proxy_type``) for server ``name``, resolved now; ``options`` go to it."""
    endpoints = resolve(
        name, registry_endpoint=registry_endpoint, fallback=fallback, timeout_s=resolve_timeout_s
    )
    options.setdefault("name", name)
    return proxy_type(endpoints["commands"], **options)
