"""Housekeeping ingest: simulated control servers → storage manager → backends, vs SQLite alone.

Prints one JSON object::

    {"sqlite_csv": {"rows_per_s", "values_per_s", "rounds", "cpu_us_per_row", ...},
     "sqlite_baseline": {"rows_per_s", "rounds", "cpu_us_per_row"},
     "ratio_baseline_to_sqlite_csv", "cpu_ratio_sqlite_csv_to_baseline",
     "postgres": {"rows_per_s", "values_per_s", "rounds", ...}, "config": {...}}

``sqlite_csv`` is what the storage manager *acknowledged* (rows durable in
every backend: one transaction and one fsync per batch and backend) per second
of wall time, from its own ``stats`` over ``--seconds`` after a warm-up, with
SQLite and CSV configured as a site would. Rows have 20 float parameters.

The storage manager runs as its own process, with the Settings a real site
would use (``storage.backends``; each backend then runs in a process of its
own). Each simulated control server is a process whose housekeeping stream is
a :class:`StorageSender` (the sink every control server gets from
``attach_storage``) fed as fast as its queue drains: the figure is the
manager's capacity, not one device's polling rate. The simulated servers cycle
through prebuilt samples (each row still gets its own time), because here they
share the machine's cores with the manager; ``cpu_us_per_row`` says where the
CPU went (the manager, each backend's process, the senders together).

``sqlite_baseline`` is SQLite's own batched ``executemany`` of the same rows
with the same durability settings (see ``_sqlite_baseline.py``), in this
process with nothing else running. Baseline and subject alternate (A B A B
...) for ``--rounds`` rounds, each figure is the median over its rounds, and
``ratio_baseline_to_sqlite_csv`` is baseline / subject (how many times faster
SQLite alone is). ``cpu_ratio_sqlite_csv_to_baseline`` compares CPU time per
row instead (the manager and its backend processes against SQLite alone):
unlike the rates it hardly moves with the machine's other load. PostgreSQL is
the local server (``--pg`` conninfo, default: the local socket) in a schema of
its own, dropped afterwards.

    python bench/hk_ingest.py [--servers 3] [--seconds 5] [--batch 1000] [--rounds 3]
                              [--pg CONNINFO] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil
import yaml

from _common import HERE, child, endpoint_of
from _sqlite_baseline import PARAMETERS, sample_values, sqlite_rows_per_s
from controlroom.device.proxy import make_proxy
from controlroom.rpc.hooks import HkSample
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.services.storage.server import StorageManager

QUEUE_ROWS = 20_000
SAMPLES = 1000  # prebuilt samples a simulated server cycles through


def feed(endpoint: str, origin: str, batch_rows: int) -> None:
    """A simulated control server: HK samples into a StorageSender until stdin closes."""
    options = SenderOptions(queue_rows=QUEUE_ROWS, batch_rows=batch_rows, batch_delay_s=0.05)
    context = {"setup_id": 1, "obsid": "LAB_00001"}  # what a StatusFollower would give
    sender = StorageSender(endpoint, origin, context=lambda: context, options=options).start()
    stop = threading.Event()
    names = [f"{origin}_P{k:02d}" for k in range(PARAMETERS)]
    samples = [dict(zip(names, sample_values(n), strict=True)) for n in range(SAMPLES)]

    def produce() -> None:
        n = 0
        while not stop.is_set():
            # Keep the queue half full: the sender always has a full batch, nothing drops.
            if sender.counters()["queued"] > QUEUE_ROWS // 2:
                time.sleep(0.001)
                continue
            for _ in range(100):
                n += 1
                sender(HkSample(origin, time.time(), samples[n % SAMPLES]))

    thread = threading.Thread(target=produce, daemon=True)
    print("READY " + json.dumps({"origin": origin}), flush=True)
    thread.start()
    sys.stdin.read()  # the parent closes our stdin to stop us
    stop.set()
    thread.join()
    sender.stop(timeout=2.0)
    print(json.dumps(sender.counters()), flush=True)


def measure(settings: dict[str, Any], servers: int, seconds: float, batch: int) -> dict[str, Any]:
    """Acknowledged rows/s (and CPU per row) of a manager on ``settings``'s backends."""
    with tempfile.TemporaryDirectory(prefix="hk_ingest_") as tmp:
        local = {
            **settings,
            "services": {
                "storage": {"commands": "tcp://127.0.0.1:0", "publish": "tcp://127.0.0.1:0"}
            },
            "locations": {n: str(Path(tmp) / n) for n in ("conf_repo", "data", "state")},
        }
        path = Path(tmp) / "settings.yaml"
        path.write_text(yaml.safe_dump(local))
        os.environ["CONTROLROOM_LOCAL_SETTINGS"] = str(path)
        with ExitStack() as stack:
            manager, ready = stack.enter_context(
                child("-m", "controlroom.processes.service", "storage")
            )
            endpoint = endpoint_of(ready)
            feeders = [
                stack.enter_context(_feeder(endpoint, f"SIM{i}", batch)) for i in range(servers)
            ]
            proxy = stack.enter_context(make_proxy(StorageManager, endpoint, timeout=30.0))
            time.sleep(1.0)  # warm-up: connections made, files and tables created
            kinds = settings["storage"]["backends"]
            cpu0 = _cpu(manager.pid, kinds, feeders)
            rows0, t0 = proxy.stats()["rows"], time.perf_counter()
            time.sleep(seconds)
            stats, t1 = proxy.stats(), time.perf_counter()
            cpu1 = _cpu(manager.pid, kinds, feeders)
            for proc in feeders:
                assert proc.stdin is not None
                proc.stdin.close()
            dropped = sum(_counters(proc).get("dropped", 0) for proc in feeders)
    rows = stats["rows"] - rows0
    return {
        "rows_per_s": round(rows / (t1 - t0)),
        "values_per_s": round(rows / (t1 - t0) * PARAMETERS),
        "mean_batch_ms": {k: round(b["mean_batch_ms"], 1) for k, b in stats["backends"].items()},
        "cpu_us_per_row": {k: round((cpu1[k] - cpu0[k]) / max(rows, 1) * 1e6, 2) for k in cpu0},
        "failures": stats["failures"],
        "dropped_by_senders": dropped,
    }


def _cpu(manager_pid: int, kinds: list[str], feeders: list[Any]) -> dict[str, float]:
    """CPU seconds so far: the manager, each backend's process, the simulated servers."""

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    manager = psutil.Process(manager_pid)
    backends = sorted(manager.children(), key=lambda p: (p.create_time(), p.pid))  # in order
    named = zip(kinds, backends, strict=True) if len(backends) == len(kinds) else []
    return {
        "manager": used(manager),  # with its backends when they run on its threads
        **{kind: used(p) for kind, p in named},
        "senders": sum(used(psutil.Process(p.pid)) for p in feeders),
    }


@contextmanager
def _feeder(endpoint: str, origin: str, batch: int) -> Iterator[subprocess.Popen[str]]:
    """A simulated control server process, ready; stopped by its handle afterwards."""
    argv = [sys.executable, str(HERE / "hk_ingest.py"), "feed", endpoint, origin, str(batch)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if not proc.stdout.readline().startswith("READY "):
            raise RuntimeError(f"feeder {origin} exited before it was ready")
        yield proc
    finally:
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _counters(proc: Any) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return json.loads(line) if line.strip() else {}


def baseline(batch: int, seconds: float) -> tuple[float, float]:
    """SQLite's batched insert of the same rows, in a fresh database of a temporary folder:
    rows/s and CPU µs per row."""
    with tempfile.TemporaryDirectory(prefix="hk_baseline_") as tmp:
        return sqlite_rows_per_s(Path(tmp) / "hk.sqlite", batch, seconds)


def postgres(pg: str, servers: int, seconds: float, batch: int) -> dict[str, Any]:
    import psycopg

    schema = f"bench_hk_{os.getpid()}"
    options = {"conninfo": pg, "schema": schema}
    try:
        return measure(
            {"storage": {"backends": ["postgres"], "options": {"postgres": options}}},
            servers,
            seconds,
            batch,
        )
    finally:
        with psycopg.connect(pg, autocommit=True) as db:
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _storage_cpu(cpu_us_per_row: dict[str, float]) -> float:
    """CPU µs per row of the manager and its backends (not the simulated servers)."""
    return sum(us for who, us in cpu_us_per_row.items() if who != "senders")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median round (by rows/s) with every round's rows/s."""
    ordered = sorted(runs, key=lambda run: run["rows_per_s"])
    middle = ordered[len(ordered) // 2]
    return {
        **middle,
        "rows_per_s": statistics.median(r["rows_per_s"] for r in runs),
        "rounds": [r["rows_per_s"] for r in runs],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "feed":
        feed(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=3, help="simulated control servers")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per run")
    parser.add_argument("--batch", type=int, default=1000, help="rows per store")
    parser.add_argument("--rounds", type=int, default=3, help="baseline/subject rounds")
    parser.add_argument("--pg", default="", help="PostgreSQL conninfo (default: local socket)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    sqlite_csv = {"storage": {"backends": ["sqlite", "csv"]}}
    base: list[tuple[float, float]] = []
    subject: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        base.append(baseline(args.batch, args.seconds))
        subject.append(measure(sqlite_csv, args.servers, args.seconds, args.batch))
    result: dict[str, Any] = {
        "sqlite_csv": summary(subject),
        "sqlite_baseline": {
            "rows_per_s": round(statistics.median(rate for rate, _ in base)),
            "rounds": [round(rate) for rate, _ in base],
            "cpu_us_per_row": round(statistics.median(cpu for _, cpu in base), 2),
        },
    }
    result["ratio_baseline_to_sqlite_csv"] = round(
        result["sqlite_baseline"]["rows_per_s"] / result["sqlite_csv"]["rows_per_s"], 2
    )
    spent = statistics.median(_storage_cpu(run["cpu_us_per_row"]) for run in subject)
    result["cpu_ratio_sqlite_csv_to_baseline"] = round(
        spent / result["sqlite_baseline"]["cpu_us_per_row"], 2
    )
    if not args.skip_postgres:
        runs = [
            postgres(args.pg, args.servers, args.seconds, args.batch) for _ in range(args.rounds)
        ]
        result["postgres"] = summary(runs)
    result["config"] = {
        "servers": args.servers,
        "batch_rows": args.batch,
        "parameters": PARAMETERS,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
