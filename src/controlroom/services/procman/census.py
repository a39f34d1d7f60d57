"""A census of the installation: every service and control server, up or down.

The process manager knows what should run (from the Settings and the current
Setup) and what it started; each server is then asked for its own process
status, all at once, so one that hangs costs one timeout, not one each. The
configuration manager adds the current Setup id and obsid. Used by
``controlroom status`` (the web panel pings the servers itself).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.services.procman.hosts import endpoint_host
from controlroom.services.procman.specs import SERVICES

PROCMAN = "procman"
PROBE_WORKERS = 16


def take_census(
    settings: Mapping[str, Any], procman: str | None, *, timeout: float = 1.0
) -> dict[str, Any]:
    """Who runs, and how: ``{"site", "setup_id", "obsid", "procman", "processes", "all_up"}``.

    ``procman`` is the process manager's command endpoint (None: not running).
    Without one, the core services are looked for at their Settings endpoints.
    """
    listed = _listed(procman, timeout) if procman else None
    rows = [_procman_row(procman, listed is not None)]
    rows += listed if listed is not None else _from_settings(settings)
    with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
        probed = list(pool.map(lambda row: _probe(row, timeout), rows))
    context = _context(settings, probed, timeout)
    return {
        "time": time.time(),
        "site": context.get("site", settings.get("site")),
        "setup_id": context.get("setup_id"),
        "obsid": context.get("obsid"),
        "procman": listed is not None,
        "processes": probed,
        "all_up": all(row["up"] for row in probed),
    }


def _listed(endpoint: str, timeout: float) -> list[dict[str, Any]] | None:
    try:
        with Proxy(endpoint, name=PROCMAN, timeout=timeout) as proxy:
            processes: list[dict[str, Any]] = proxy.request("list_processes")
            return processes
    except RpcError:
        return None


def _procman_row(endpoint: str | None, answered: bool) -> dict[str, Any]:
    endpoints = {"commands": endpoint} if endpoint else {}
    state = "running" if answered else "down"
    return {"name": PROCMAN, "kind": "service", "state": state, "endpoints": endpoints}


def _from_settings(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The core services where the Settings put them (a port of 0 cannot be found)."""
    rows = []
    for name in SERVICES:
        entry = settings["services"][name]
        commands = str(entry["commands"])
        if commands.endswith(":0"):
            continue
        endpoints = {"commands": connectable(commands), "publish": str(entry["publish"])}
        rows.append({"name": name, "kind": "service", "state": "unknown", "endpoints": endpoints})
    return rows


def _probe(row: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """``row`` with ``up``, ``pid``, ``host``, ``uptime_s`` and ``rss_mb`` filled in."""
    endpoints = {k: v for k, v in dict(row.get("endpoints") or {}).items() if k != "name"}
    commands = endpoints.get("commands")
    result: dict[str, Any] = {
        "name": row["name"],
        "kind": row.get("kind", "service"),
        "state": row.get("state", "unknown"),
        "pid": row.get("pid"),
        "host": row.get("host") or (endpoint_host(commands) if commands else None),
        "endpoints": endpoints,
        "restarts": row.get("restarts", 0),
        "uptime_s": None,
        "rss_mb": None,
        "up": False,
    }
    own_protocol = row.get("kind") in ("simulator", "web", "bridge") and not commands
    if own_protocol:  # they answer their own protocols, not ours
        return {**result, **_local_process(row.get("pid"), row.get("started"))}
    if not commands:
        return result
    try:
        with Proxy(connectable(str(commands)), name=str(row["name"]), timeout=timeout) as proxy:
            process = proxy.process_status()
    except RpcError as exc:
        return {**result, "note": str(exc)}
    return {
        **result,
        "up": True,
        "pid": process.get("pid", result["pid"]),
        "uptime_s": process.get("uptime_s"),
        "rss_mb": process.get("rss_mb"),
    }


def _local_process(pid: Any, started: Any) -> dict[str, Any]:
    if not pid:
        return {}
    try:
        process = psutil.Process(int(pid))
        rss = process.memory_info().rss / 2**20
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return {"up": False}
    uptime = time.time() - float(started) if started else None
    return {"up": True, "rss_mb": rss, "uptime_s": uptime}


def _context(
    settings: Mapping[str, Any], probed: list[dict[str, Any]], timeout: float
) -> dict[str, Any]:
    """The configuration manager's site, Setup id and obsid ({} when it is down)."""
    confman = next((row for row in probed if row["name"] == "confman" and row["up"]), None)
    if confman is None:
        return {}
    try:
        with Proxy(confman["endpoints"]["commands"], name="confman", timeout=timeout) as proxy:
            context: dict[str, Any] = proxy.request("get_context")
            return context
    except RpcError:
        return {}
