"""Housekeeping ingest: simulated control servers → storage manager → backends.

Prints one JSON object::

    {"sqlite_csv": {"rows_per_s", "values_per_s"}, "postgres": {"rows_per_s", "values_per_s"},
     "config": {...}}

Each figure is what the storage manager *acknowledged* (rows durable in every
backend: one transaction and one fsync per batch per backend) per second of
wall time, measured from its own ``stats`` over ``--seconds`` after a warm-up.
Rows have 20 float parameters.

The storage manager runs as its own process, with the Settings a real site
would use (``storage.backends``). Each simulated control server is a process
whose housekeeping stream is a :class:`StorageSender` (the sink every control
server gets from ``attach_storage``) fed as fast as its queue drains: the
figure is the manager's capacity, not one device's polling rate. PostgreSQL is
the local server (``--pg`` conninfo, default: the local socket) in a schema of
its own, dropped afterwards.

    python bench/hk_ingest.py [--servers 3] [--seconds 5] [--batch 1000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from _common import HERE, child, endpoint_of
from controlroom.device.proxy import make_proxy
from controlroom.rpc.hooks import HkSample
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.services.storage.server import StorageManager

PARAMETERS = 20
QUEUE_ROWS = 20_000


def feed(endpoint: str, origin: str, batch_rows: int) -> None:
    """A simulated control server: HK samples into a StorageSender until stdin closes."""
    options = SenderOptions(queue_rows=QUEUE_ROWS, batch_rows=batch_rows, batch_delay_s=0.05)
    context = {"setup_id": 1, "obsid": "LAB_00001"}  # what a StatusFollower would give
    sender = StorageSender(endpoint, origin, context=lambda: context, options=options).start()
    stop = threading.Event()
    names = [f"{origin}_P{k:02d}" for k in range(PARAMETERS)]

    def produce() -> None:
        n = 0
        while not stop.is_set():
            # Keep the queue half full: the sender always has a full batch, nothing drops.
            if sender.counters()["queued"] > QUEUE_ROWS // 2:
                time.sleep(0.001)
                continue
            for _ in range(100):
                n += 1
                values = {name: n + k * 0.001 for k, name in enumerate(names)}
                sender(HkSample(origin, time.time(), values))

    thread = threading.Thread(target=produce, daemon=True)
    print("READY " + json.dumps({"origin": origin}), flush=True)
    thread.start()
    sys.stdin.read()  # the parent closes our stdin to stop us
    stop.set()
    thread.join()
    sender.stop(timeout=2.0)
    print(json.dumps(sender.counters()), flush=True)


def measure(settings: dict[str, Any], servers: int, seconds: float, batch: int) -> dict[str, Any]:
    """Acknowledged rows/s and values/s of a manager on ``settings``'s backends."""
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
            _, ready = stack.enter_context(child("-m", "controlroom.processes.service", "storage"))
            endpoint = endpoint_of(ready)
            feeders = [
                stack.enter_context(_feeder(endpoint, f"SIM{i}", batch)) for i in range(servers)
            ]
            proxy = stack.enter_context(make_proxy(StorageManager, endpoint, timeout=30.0))
            time.sleep(1.0)  # warm-up: connections made, files and tables created
            rows0, t0 = proxy.stats()["rows"], time.perf_counter()
            time.sleep(seconds)
            stats, t1 = proxy.stats(), time.perf_counter()
            for proc in feeders:
                assert proc.stdin is not None
                proc.stdin.close()
            dropped = sum(_counters(proc).get("dropped", 0) for proc in feeders)
    rate = (stats["rows"] - rows0) / (t1 - t0)
    return {
        "rows_per_s": round(rate),
        "values_per_s": round(rate * PARAMETERS),
        "mean_batch_ms": {k: round(b["mean_batch_ms"], 1) for k, b in stats["backends"].items()},
        "failures": stats["failures"],
        "dropped_by_senders": dropped,
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


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "feed":
        feed(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=3, help="simulated control servers")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per run")
    parser.add_argument("--batch", type=int, default=1000, help="rows per store")
    parser.add_argument("--pg", default="", help="PostgreSQL conninfo (default: local socket)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    sqlite_csv = {"storage": {"backends": ["sqlite", "csv"]}}
    result: dict[str, Any] = {
        "sqlite_csv": measure(sqlite_csv, args.servers, args.seconds, args.batch)
    }
    if not args.skip_postgres:
        result["postgres"] = postgres(args.pg, args.servers, args.seconds, args.batch)
    result["config"] = {
        "servers": args.servers,
        "batch_rows": args.batch,
        "parameters": PARAMETERS,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
