"""A census of the lab: every host, and every service and control server on it, up or down.

Each host's process manager knows what should run there (from the Settings
and the current Setup) and what it started. Ours is found where the caller
says (its state file), the others in the registry (``procman@<host>``). Every
host of the Settings is listed, also one where no process manager answers:
there the core services the Settings place on it are looked for at their
endpoints. Then each server is asked for its own process status, all at
once, so one that hangs costs one timeout, not one each (:mod:`.probe`). A
server of another host is asked at the endpoints it registered (those its
process manager saw may be loopback ones). The configuration manager adds
the current Setup id and obsid. Used by ``controlroom status`` (the web panel
pings the servers itself).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.hosts import host_address, this_host
from controlroom.services.procman.hosts import host_of, lab_hosts, local_names, service_host
from controlroom.services.procman.managers import (
    PROCMAN,
    managers_of,
    reachable_from,
    registry_entries,
)
from controlroom.services.procman.probe import probe
from controlroom.services.procman.specs import SERVICES

PROBE_WORKERS = 16
Row = dict[str, Any]


@dataclass(frozen=True)
class Host:
    """One host of the census: where its process manager answers, and what it listed."""

    name: str
    procman: str | None  # its command endpoint, as reached from here
    listed: list[Row] | None  # None: no process manager answered
    note: str = ""


def take_census(
    settings: Mapping[str, Any],
    procman: str | None,
    *,
    timeout: float = 1.0,
    me: str | None = None,
) -> dict[str, Any]:
    """Who runs where, and how: ``{"site", "host", "hosts", "setup_id", "obsid", "procman",
    "registry", "processes", "all_up"}``.

    ``procman`` is this host's process manager's command endpoint (None: not
    running); ``me`` this host (default: :func:`~controlroom.rpc.hosts.this_host`).
    """
    me = me or this_host(settings)
    entries = registry_entries(settings, timeout=timeout)
    registered = {str(entry.get("name")): entry for entry in entries or []}
    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        wanted = _managers(settings, me, procman, entries or [])
        hosts = list(pool.map(lambda item: _listing(item[0], item[1], timeout), wanted.items()))
        rows = [
            _reachable(settings, me, row, registered)
            for h in hosts
            for row in _rows(settings, me, h)
        ]
        probed = list(pool.map(lambda row: probe(row, timeout, here=row["host"] == me), rows))
    context = _context(probed, timeout)
    return {
        "time": time.time(),
        "site": context.get("site", settings.get("site")),
        "host": me,
        "hosts": [_summary(settings, host, probed) for host in hosts],
        "setup_id": context.get("setup_id"),
        "obsid": context.get("obsid"),
        "procman": any(h.name == me and h.listed is not None for h in hosts),
        "registry": entries is not None,
        "processes": probed,
        "all_up": all(row["up"] for row in probed),
    }


def _managers(
    settings: Mapping[str, Any], me: str, procman: str | None, entries: list[dict[str, Any]]
) -> dict[str, tuple[str | None, str]]:
    """Host → (its process manager's endpoint as reached from here, or None; a note)."""
    found = managers_of(entries)
    hosts = lab_hosts(settings, me)
    hosts += sorted(set(found) - set(hosts))
    chosen: dict[str, tuple[str | None, str]] = {}
    for host in hosts:
        entry = found.get(host)
        endpoint = str((entry or {}).get("endpoints", {}).get("commands") or "") or None
        if host == me and procman:
            endpoint = procman
        if endpoint and not reachable_from(settings, endpoint, host, me):
            chosen[host] = (None, f"its process manager is bound to {endpoint} over there")
        else:
            chosen[host] = (endpoint, "" if endpoint or entries else "the registry does not answer")
    return chosen


def _listing(name: str, where: tuple[str | None, str], timeout: float) -> Host:
    endpoint, note = where
    if endpoint is None:
        return Host(name, None, None, note)
    try:
        with Proxy(connectable(endpoint), name=PROCMAN, timeout=timeout) as proxy:
            processes: list[Row] = proxy.request("list_processes")
    except RpcError as exc:
        return Host(name, endpoint, None, f"its process manager does not answer: {exc}")
    return Host(name, endpoint, processes)


def _rows(settings: Mapping[str, Any], me: str, host: Host) -> list[Row]:
    """The process manager of ``host``, then its processes (the core services the
    Settings place there, when it does not answer)."""
    endpoints = {"commands": host.procman} if host.procman else {}
    state = "running" if host.listed is not None else "down"
    manager: Row = {"name": PROCMAN, "kind": "service", "state": state, "endpoints": endpoints}
    listed = host.listed if host.listed is not None else _from_settings(settings, me, host.name)
    return [{**row, "host": host.name} for row in [manager, *listed]]


def _from_settings(settings: Mapping[str, Any], me: str, host: str) -> list[Row]:
    """The core services the Settings place on ``host`` (a port of 0 cannot be found)."""
    names = local_names() if host == me else ()
    rows = []
    for name in SERVICES:
        entry = settings["services"][name]
        commands = str(entry["commands"])
        if (
            commands.endswith(":0")
            or host_of(service_host(settings, name), settings, me, names) != host
        ):
            continue
        endpoints = {"commands": connectable(commands), "publish": str(entry["publish"])}
        rows.append({"name": name, "kind": "service", "state": "unknown", "endpoints": endpoints})
    return rows


def _reachable(
    settings: Mapping[str, Any], me: str, row: Row, registered: Mapping[str, Mapping[str, Any]]
) -> Row:
    """``row`` with the endpoints to ask it at from here: those it registered, for a
    server of another host; flagged ``unreachable`` when there are none."""
    host = str(row["host"])
    if host == me or row["name"] == PROCMAN:
        return row
    entry = registered.get(str(row["name"])) or {}
    if entry.get("host") == host and entry.get("endpoints"):
        return {**row, "endpoints": dict(entry["endpoints"])}
    commands = str((row.get("endpoints") or {}).get("commands") or "")
    if not commands or reachable_from(settings, commands, host, me):
        return row
    note = f"{commands} is bound on host {host}: not reachable from here"
    return {**row, "unreachable": True, "note": note}


def _summary(settings: Mapping[str, Any], host: Host, probed: list[Row]) -> dict[str, Any]:
    mine = [row for row in probed if row["host"] == host.name and row["name"] != PROCMAN]
    return {
        "name": host.name,
        "address": host_address(settings, host.name),
        "procman": host.procman if host.listed is not None else None,
        "processes": len(mine),
        "up": sum(1 for row in mine if row["up"]),
        "note": host.note,
    }


def _context(probed: list[Row], timeout: float) -> dict[str, Any]:
    """The configuration manager's site, Setup id and obsid ({} when it is down)."""
    confman = next(
        (r for r in probed if r["name"] == "confman" and r["up"] and not r.get("unreachable")),
        None,
    )
    if confman is None or not confman["endpoints"].get("commands"):
        return {}
    try:
        with Proxy(confman["endpoints"]["commands"], name="confman", timeout=timeout) as proxy:
            context: dict[str, Any] = proxy.request("get_context")
            return context
    except RpcError:
        return {}
