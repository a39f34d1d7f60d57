"""One row of the census: ask the server how it is, or look at its process.

A control server answers ``process_status`` (pid, uptime, memory). A
simulator, the web panel and a bridge speak their own protocols: on this host
their process is looked at by pid; on another host their process manager's
word (``running``) is taken, as it is for a server whose endpoint cannot be
reached from here (one bound to loopback over there).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import psutil

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable

OWN_PROTOCOLS = ("simulator", "web", "bridge")


def probe(row: Mapping[str, Any], timeout: float, *, here: bool = True) -> dict[str, Any]:
    """``row`` with ``up``, ``pid``, ``uptime_s`` and ``rss_mb`` filled in.

    ``here``: the row is a process of this host (its pid is one of ours).
    """
    endpoints = {k: v for k, v in dict(row.get("endpoints") or {}).items() if k != "name"}
    commands = endpoints.get("commands")
    result: dict[str, Any] = {
        "name": row["name"],
        "kind": row.get("kind", "service"),
        "state": row.get("state", "unknown"),
        "pid": row.get("pid"),
        "host": row.get("host"),
        "endpoints": endpoints,
        "restarts": row.get("restarts", 0),
        "uptime_s": None,
        "rss_mb": None,
        "up": False,
    }
    if row.get("note"):
        result["note"] = row["note"]
    if row.get("unreachable"):
        result["unreachable"] = True
    if not commands or row.get("unreachable"):
        if row.get("kind") in OWN_PROTOCOLS and here:  # they answer their own protocols
            return {**result, **_local_process(row.get("pid"), row.get("started"))}
        if not here:  # its process manager's word is all we have from here
            return {**result, **_as_reported(row)}
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
        "lease": process.get("lease"),  # who holds the server, until when (None: nobody)
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


def _as_reported(row: Mapping[str, Any]) -> dict[str, Any]:
    started = row.get("started")
    running = row.get("state") == "running"
    uptime = time.time() - float(started) if running and started else None
    return {"up": running, "uptime_s": uptime}
