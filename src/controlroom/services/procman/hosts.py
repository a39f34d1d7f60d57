"""Where each process runs: the host a spec names, and whether that host is this one.

A spec's host is what the Settings or the Setup say: a key of the Settings'
``hosts`` (``bench``), an address (the host of a ``commands`` endpoint), or a
loopback or wildcard address, which names no machine. :func:`placement` turns
the first two into a key of ``hosts``. A process whose address names no
machine runs on the *server host*, the registry's (a lab has one registry);
when the registry's own address names no machine either (one machine, all on
loopback), such processes run wherever ``controlroom up`` runs, as on a
single-host lab. An explicit ``host:`` in a service's Settings entry places it
where its address alone cannot (``tcp://0.0.0.0:6030`` on ``server``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from controlroom.rpc.hosts import (
    DEFAULT_HOST,
    UnknownHost,
    checked_host,
    host_named_by,
    is_loopback,
    is_unplaced,
    local_names,
    settings_hosts,
    this_host,
)
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.processspec import ProcessSpec

__all__ = [
    "endpoint_host",
    "host_of",
    "is_local",
    "lab_hosts",
    "local_names",
    "local_specs",
    "placement",
    "server_host",
    "service_host",
]

REGISTRY = "registry"


def endpoint_host(endpoint: str) -> str:
    """The host part of ``tcp://host:port`` (``localhost`` for ipc and inproc)."""
    scheme, _, rest = endpoint.partition("://")
    if scheme != "tcp":
        return "localhost"
    return rest.rpartition(":")[0] or "localhost"


def service_host(settings: Mapping[str, Any], name: str) -> str:
    """Where core service ``name`` runs: its ``host`` key, else its ``commands`` host."""
    entry = settings["services"][name]
    explicit = str(entry.get("host") or "")
    if not explicit:
        return endpoint_host(str(entry["commands"]))
    try:
        return checked_host(settings, explicit, f"services.{name}.host")
    except UnknownHost as exc:
        raise SpecError(str(exc)) from None


def placement(host: str, settings: Mapping[str, Any]) -> str | None:
    """The key of the Settings' ``hosts`` that ``host`` names; None if it names none.

    A key names itself; an address names the first host with that address,
    unless it is loopback or a wildcard (every machine has those).
    """
    hosts = settings_hosts(settings)
    if host in hosts:
        return host
    if is_unplaced(host):
        return None
    return next((name for name, a in hosts.items() if a.lower() == host.lower()), None)


def server_host(settings: Mapping[str, Any]) -> str | None:
    """The host of the registry, where processes that name no machine run; None: anywhere."""
    return placement(service_host(settings, REGISTRY), settings)


def is_local(
    host: str,
    settings: Mapping[str, Any],
    names: Iterable[str] | None = None,
    *,
    me: str | None = None,
) -> bool:
    """True if a process placed on ``host`` runs here.

    ``names``: this machine's names and addresses (default: :func:`local_names`);
    ``me``: this host's name in the Settings (default: the one ``names`` or
    ``CONTROLROOM_HOST`` say, see :func:`controlroom.rpc.hosts.this_host`).
    """
    known = {n.lower() for n in (local_names() if names is None else names)}
    if me is None:
        me = this_host(settings) if names is None else host_named_by(settings, known)
    return host_of(host, settings, me, known) == me


def host_of(
    host: str, settings: Mapping[str, Any], me: str, names: Iterable[str] = ()
) -> str | None:
    """The Settings host a process placed on ``host`` runs on, seen from host ``me``
    (``names``: this machine's names); None: a machine the Settings do not list."""
    placed = placement(host, settings)
    if placed is not None:
        return placed
    if is_unplaced(host):
        server = server_host(settings)
        if server is not None:
            return server
    return me if host.lower() in names else None


def lab_hosts(settings: Mapping[str, Any], me: str | None = None) -> list[str]:
    """The hosts of the lab: every key of ``hosts``, ``me`` first.

    ``default`` only stands for the address a machine without an entry of
    its own uses; next to other hosts, on loopback, it is no host of its own.
    """
    hosts = settings_hosts(settings)
    names = [
        name
        for name, address in hosts.items()
        if name != DEFAULT_HOST or len(hosts) == 1 or not is_loopback(address) or name == me
    ]
    if me is not None and me not in names:
        names.insert(0, me)
    return sorted(names, key=lambda name: name != me)


def local_specs(
    specs: Iterable[ProcessSpec],
    settings: Mapping[str, Any],
    names: Iterable[str] | None = None,
    *,
    me: str | None = None,
) -> list[ProcessSpec]:
    """The specs of this host (``names``: this machine's names, ``me``: its host; for tests).

    What they need from other hosts is in their ``remote_after``: the process
    manager waits for it to answer instead of starting it.
    """
    every = list(specs)
    known = local_names() if names is None else list(names)  # once, not per spec
    if me is None:
        me = this_host(settings) if names is None else host_named_by(settings, known)
    chosen = [spec for spec in every if is_local(spec.host, settings, known, me=me)]
    here = {spec.name for spec in chosen}
    elsewhere = {spec.name for spec in every} - here
    return [
        replace(spec, remote_after=tuple(d for d in spec.after if d in elsewhere))
        for spec in chosen
    ]
