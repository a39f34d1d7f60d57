"""What ``scale.py`` measures besides the command round trips: memory, CPU, the panel, rows.

* PSS of every process of the lab (the process manager, the process factory
  and all it forked, the storage backends, and the watcher ``up -d`` leaves):
  PSS divides each shared page among the processes that share it, so the sum
  is what the lab really occupies, forked children and all.
* CPU of the device servers over a span, from their CPU times.
* One load of the panel's overview as a browser does it: the page, then the
  JSON it reads before it opens its WebSocket (nav pages, session, telemetry
  metadata, the device list with their leases).
* The housekeeping rows stored for each device in a span, read back from the
  storage manager, and the rows missing from each device's series.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import psutil

from controlroom.rpc import Proxy, RpcError
from controlroom.services.storage.client import StorageClient

MB = 2**20
OVERVIEW_LOAD = ("/", "/api/pages", "/api/session", "/api/overview", "/api/device")
DELIVERY_TIMEOUT_S = 60.0
DELIVERY_POLL_S = 0.5


def pss_mb(processes: Iterable[psutil.Process]) -> float:
    """Total PSS of ``processes`` in MB (those that exited meanwhile count nothing)."""
    total = 0
    for process in processes:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return total / MB


def pss_by_kind(processes: Iterable[psutil.Process], kinds: Mapping[int, str]) -> dict[str, float]:
    """PSS in MB per kind of process (device, simulator, service, web; other: the
    process manager's own, the factory, the storage backends, the watcher)."""
    totals: dict[str, float] = {}
    for process in processes:
        kind = kinds.get(process.pid, "other")
        totals[kind] = totals.get(kind, 0.0) + pss_mb([process])
    return {kind: round(mb, 1) for kind, mb in sorted(totals.items())}


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far."""
    used = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[pid] = times.user + times.system
    return used


def cpu_pct_per_process(before: dict[int, float], after: dict[int, float], span_s: float) -> float:
    """Mean CPU % of one process between two :func:`cpu_seconds` readings."""
    deltas = [after[pid] - before[pid] for pid in before if pid in after]
    return 100.0 * sum(deltas) / len(deltas) / span_s if deltas else float("nan")


@dataclass
class Panel:
    """Loads of the overview page of the panel at ``url``, timed."""

    url: str

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30.0)
        self.samples: list[float] = []
        self.failures = 0

    def load(self) -> None:
        started = time.perf_counter()
        try:
            for path in OVERVIEW_LOAD:
                self.client.get(path).raise_for_status()
        except httpx.HTTPError:
            self.failures += 1
        self.samples.append(time.perf_counter() - started)

    def p95_ms(self) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3, 1)

    def close(self) -> None:
        self.client.close()


def wait_delivered(client: StorageClient, origins: Iterable[str], until: float) -> list[str]:
    """Wait until every origin has a stored row at or after ``until`` (its rows before
    are then stored too: each sender sends in order); the origins still behind."""
    behind = set(origins)
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while behind and time.monotonic() < deadline:
        for origin in sorted(behind):
            row = client.latest(origin=origin)
            if row is not None and float(row["time"]) >= until:
                behind.discard(origin)
        if behind:
            time.sleep(DELIVERY_POLL_S)  # the storage manager's own state, asked again
    return sorted(behind)


def missing_rows(times: list[float], since: float, until: float, period: float) -> int:
    """Slots of one device's polling grid without a row, between its first and its last
    stored row (the grid's ends in [since, until) are known only to a period); a whole
    window without a row is all missing. A late row still takes its slot: only slots
    nobody took count, however much the poll times jitter."""
    if not times:
        return round((until - since) / period)
    ordered = sorted(times)
    slots = round((ordered[-1] - ordered[0]) / period) + 1
    return max(0, slots - len(ordered))


def stored_rows(
    endpoint: str, devices: Iterable[str], since: float, until: float, period: float
) -> dict[str, Any]:
    """``{rows_stored, rows_missing, origins_behind}`` of ``devices`` in [since, until)."""
    with StorageClient(endpoint, timeout=60.0) as client:
        origins = {name: name.upper() for name in devices}
        behind = wait_delivered(client, origins.values(), until)
        columns = client.proxy.origins()
        stored = missing = 0
        for origin in origins.values():
            names = [c for c in columns.get(origin, []) if not c.startswith("_")]
            times = (
                client.get_housekeeping(names[0], since, until, origin=origin)["times"]
                if names
                else []
            )
            stored += len(times)
            missing += missing_rows(times, since, until, period)
    return {"rows_stored": stored, "rows_missing": missing, "origins_behind": behind}


def sender_losses(endpoints: Mapping[str, str]) -> int | None:
    """HK rows the devices' storage senders dropped (full queue) or had refused, since
    they started, from each server's ``info``; None if one does not answer."""
    lost = 0
    for name, endpoint in endpoints.items():
        try:
            with Proxy(endpoint, name=name, timeout=10.0) as proxy:
                hk = proxy.request("info")["storage"]["hk"]
        except (RpcError, KeyError):
            return None
        lost += int(hk["dropped"]) + int(hk["refused"])
    return lost
