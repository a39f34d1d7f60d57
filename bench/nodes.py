"""Sensor-node bridge: a node fleet → the bridge → the storage manager, counted row by row.

Prints one JSON object::

    {"lines_per_s", "stored_per_s", "lost", "drain_s", "malformed", "paused_s",
     "baseline": {"lines_per_s"}, "rounds": [...],
     "capacity": {"lines_per_s", "stored_per_s", "baseline_lines_per_s", "lost", ...},
     "config": {...}}

Real processes, as in a lab: the storage manager (SQLite + CSV, in a scratch
directory), the bridge (``controlroom nodes run``, with the storage sender the
CLI attaches) and the fleet simulator (``python -m
controlroom.bridges.nodes.fleet``), every port picked by the OS. In each
round the fleet runs ``--seconds`` with ``--nodes`` pulse nodes at ``--rate``
lines a second each (Poisson arrivals, plus heartbeats and status lines).

* ``lines_per_s``: lines the fleet wrote per second into the bridge (TCP flow
  control would slow the fleet if the bridge fell behind);
* ``stored_per_s``: rows acknowledged per second, from the fleet's start to
  the last row stored;
* ``lost``: rows the fleet's STATUS and DATA lines should have become minus
  the rows the storage manager acknowledged (summed over rounds; 0 is the
  target); ``drain_s``: from the fleet's last line to the last row stored;
  ``paused_s``: connection-seconds the bridge did not read because the rows
  waiting for storage were above ``high_water_rows``;
* ``baseline``: the same fleet into a plain asyncio server that only counts
  lines, alternating with the bridge round by round: the cost of TCP and the
  simulator alone;
* ``capacity``: the same pair of rounds with the fleet asked for
  ``--capacity-rate`` lines a second per node, far more than the bridge takes:
  how many lines a second get through (the bridge pauses reading while the
  storage backlog is high) and still no row lost.

Figures are medians over rounds.

    python bench/nodes.py [--nodes 20] [--rate 500] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from _common import HERE, child, endpoint_of
from controlroom.device.proxy import make_proxy
from controlroom.services.storage.server import StorageManager
from controlroom.testing.ports import free_tcp_port

STORED_ORIGINS = ("NODES_PULSE", "NODES_TICK", "NODES_STATUS")
STORED_KINDS = ("DATA", "STATUS")
DRAIN_TIMEOUT_S = 60.0
UNUSED_SERVICES = ("confman", "logman", "registry", "procman", "scheduler")


def sink() -> None:
    """The baseline: a plain asyncio server that counts lines until SIGTERM."""
    counted = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counted
        while chunk := await reader.read(65536):
            counted += chunk.count(b"\n")
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        port = server.sockets[0].getsockname()[1]
        print("READY " + json.dumps({"nodes": f"tcp://127.0.0.1:{port}"}), flush=True)
        await stop.wait()

    asyncio.run(main())
    print(json.dumps({"lines": counted}), flush=True)


def run_fleet(url: str, nodes: int, rate: float, seconds: float) -> dict[str, Any]:
    """The fleet against ``url`` for ``seconds``; its SUMMARY."""
    argv = [sys.executable, "-m", "controlroom.bridges.nodes.fleet", "--bridge", url]
    argv += ["--nodes", str(nodes), "--rate", str(rate), "--seconds", str(seconds)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("SUMMARY "):
            summary: dict[str, Any] = json.loads(line[len("SUMMARY ") :])
            summary["ended"] = time.monotonic()
            return summary
    raise RuntimeError(f"the fleet printed no summary: {done.stdout} {done.stderr}")


def stored(storage: Any) -> int:
    per_origin = storage.stats()["per_origin"]
    return sum(int(per_origin.get(origin, 0)) for origin in STORED_ORIGINS)


def bridge_round(
    url: str, storage: Any, bridge: Any, args: argparse.Namespace, rate: float
) -> dict[str, Any]:
    before, counters0 = stored(storage), bridge.counters()
    summary = run_fleet(url, args.nodes, rate, args.seconds)
    expected = sum(summary["sent"].get(kind, 0) for kind in STORED_KINDS)
    deadline, count = time.monotonic() + DRAIN_TIMEOUT_S, 0
    while time.monotonic() < deadline:
        count = stored(storage) - before
        if count >= expected:
            break
        time.sleep(0.05)  # polling a counter, not waiting for readiness
    drained = time.monotonic()
    counters = bridge.counters()
    return {
        "lines_per_s": summary["lines_per_s"],
        # End to end: every row stored, over the run and the drain after it.
        "stored_per_s": round(count / (summary["seconds"] + drained - summary["ended"]), 1),
        "expected": expected,
        "stored": count,
        "lost": max(0, expected - count),
        "duplicates": max(0, count - expected),
        "drain_s": round(drained - summary["ended"], 3),
        "malformed": counters["malformed"] - counters0["malformed"],
        "paused_s": round(counters["paused_s"] - counters0["paused_s"], 3),
    }


def baseline_round(url: str, args: argparse.Namespace, rate: float) -> dict[str, Any]:
    summary = run_fleet(url, args.nodes, rate, args.seconds)
    return {"lines_per_s": summary["lines_per_s"]}


def write_settings(path: Path, tmp: Path, storage: str | None) -> None:
    services: dict[str, Any] = {
        name: {"commands": f"tcp://127.0.0.1:{free_tcp_port()}"} for name in UNUSED_SERVICES
    }
    services["logman"]["records"] = f"tcp://127.0.0.1:{free_tcp_port()}"
    services["confman"]["publish"] = f"tcp://127.0.0.1:{free_tcp_port()}"
    services["storage"] = {
        "commands": storage or "tcp://127.0.0.1:0",
        "publish": "tcp://127.0.0.1:0",
    }
    local = {
        "services": services,
        "locations": {n: str(tmp / n) for n in ("conf_repo", "data", "state")},
        "storage": {"backends": ["sqlite", "csv"]},
        "bridges": {
            "nodes": {"port": 0, "commands": "tcp://127.0.0.1:0", "publish": "tcp://127.0.0.1:0"}
        },
    }
    path.write_text(yaml.safe_dump(local))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    baselines: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_nodes_") as scratch, ExitStack() as stack:
        tmp = Path(scratch)
        settings = tmp / "settings.yaml"
        write_settings(settings, tmp, None)
        os.environ["CONTROLROOM_LOCAL_SETTINGS"] = str(settings)
        _, ready = stack.enter_context(child("-m", "controlroom.processes.service", "storage"))
        storage_endpoint = endpoint_of(ready)
        write_settings(settings, tmp, storage_endpoint)
        _, ready = stack.enter_context(child("-m", "controlroom.cli.main", "nodes", "run"))
        bridge_info = json.loads(ready)
        _, ready = stack.enter_context(child(str(HERE / "nodes.py"), "sink"))
        sink_url = json.loads(ready)["nodes"]
        storage = stack.enter_context(make_proxy(StorageManager, storage_endpoint, timeout=30.0))
        from controlroom.bridges.nodes import NodeBridge

        bridge = stack.enter_context(make_proxy(NodeBridge, bridge_info["commands"]))
        for _ in range(args.rounds):
            baselines.append(baseline_round(sink_url, args, args.rate))
            rounds.append(bridge_round(bridge_info["nodes"], storage, bridge, args, args.rate))
        capacity = []
        for _ in range(args.rounds if args.capacity_rate > 0 else 0):
            sink_figures = baseline_round(sink_url, args, args.capacity_rate)
            figures = bridge_round(bridge_info["nodes"], storage, bridge, args, args.capacity_rate)
            capacity.append({**figures, "baseline_lines_per_s": sink_figures["lines_per_s"]})
    return {
        "lines_per_s": statistics.median(r["lines_per_s"] for r in rounds),
        "stored_per_s": statistics.median(r["stored_per_s"] for r in rounds),
        "lost": sum(r["lost"] for r in rounds),
        "duplicates": sum(r["duplicates"] for r in rounds),
        "drain_s": statistics.median(r["drain_s"] for r in rounds),
        "malformed": sum(r["malformed"] for r in rounds),
        "paused_s": sum(r["paused_s"] for r in rounds),
        "baseline": {"lines_per_s": statistics.median(b["lines_per_s"] for b in baselines)},
        "rounds": rounds,
        "capacity": _capacity(capacity),
    }


def _capacity(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The same rounds with the fleet asked for far more than the bridge can take."""
    if not rounds:
        return {}
    keys = ("lines_per_s", "stored_per_s", "baseline_lines_per_s", "drain_s")
    summary = {key: statistics.median(r[key] for r in rounds) for key in keys}
    return {**summary, "lost": sum(r["lost"] for r in rounds), "rounds": rounds}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "sink":
        sink()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20, help="simulated pulse nodes")
    parser.add_argument("--rate", type=float, default=500.0, help="lines per second per node")
    parser.add_argument("--seconds", type=float, default=10.0, help="fleet run time per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument(
        "--capacity-rate",
        type=float,
        default=5000.0,
        help="per-node rate of the capacity rounds (0: skip them)",
    )
    args = parser.parse_args()
    result = measure(args)
    result["config"] = {
        "nodes": args.nodes,
        "rate_per_node": args.rate,
        "capacity_rate_per_node": args.capacity_rate,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "backends": ["sqlite", "csv"],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
