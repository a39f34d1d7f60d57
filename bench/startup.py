"""Start-up benchmark: seconds from launching a control server to its first ping, and its RSS.

Prints ``{"ready_s", "rss_mb", "baseline_python_s", "runs"}``: the median over
several runs of the time from ``Popen`` to the first answered ``ping`` of a
dummy control server, its resident memory once ready, and, measured in the
same rounds, how long a bare ``python -c pass`` takes to start on this machine.

Then the CLI figure, ``{"cli_help_s", "baseline_python_s", "cli_help_over_baseline_s"}``:
the median wall time of ``controlroom --help`` (the console script, in a
subprocess) and of a bare ``python -c pass`` measured in alternating rounds,
and their difference: what the command itself costs before it prints a line.

Then the system figure, ``{"up_ready_s", "down_s", "rss_mb": {process: MB}, ...}``:
seconds from launching ``controlroom up -d --setup demo`` until it returns
with every process ready, seconds from launching ``controlroom down`` until
it returns with all of them stopped, and the resident memory of each process
of the demo lab (median over the runs), on OS-chosen ports in a scratch
directory. Targets: the demo ready in under 3 s and stopped in under 5 s
(CLI start-up included), each control server under 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from controlroom.rpc import Proxy
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import dummy_server

SERVICES = ("confman", "storage", "logman", "registry", "procman", "scheduler", "scenarios")


def python_baseline() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def one_start() -> tuple[float, float]:
    started = time.perf_counter()
    server = dummy_server().start()
    try:
        with Proxy(server.endpoint, timeout=10.0) as proxy:
            proxy.ping()
            ready = time.perf_counter() - started
        rss = psutil.Process(server.pid).memory_info().rss / 2**20
    finally:
        server.stop()
    return ready, rss


def cli_help_argv() -> list[str]:
    """``controlroom --help`` as an operator runs it: the console script next to this Python."""
    script = Path(sys.executable).with_name("controlroom")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "controlroom.cli.main"]
    return [*command, "--help"]


def one_cli_help() -> float:
    started = time.perf_counter()
    subprocess.run(cli_help_argv(), check=True, capture_output=True)
    return time.perf_counter() - started


def cli_figure(runs: int) -> dict[str, Any]:
    one_cli_help()  # warm the file cache so the first run is not an outlier
    helps, baseline = [], []
    for _ in range(runs):  # alternate baseline and subject
        baseline.append(python_baseline())
        helps.append(one_cli_help())
    cli_help, python = statistics.median(helps), statistics.median(baseline)
    return {
        "cli_help_s": round(cli_help, 3),
        "baseline_python_s": round(python, 3),
        "cli_help_over_baseline_s": round(cli_help - python, 3),
        "runs": runs,
    }


def _port() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


def lab_settings(root: Path) -> Path:
    """Settings for a demo lab of its own: free ports, files under ``root``."""
    services: dict[str, Any] = {n: {"commands": _port(), "publish": _port()} for n in SERVICES}
    services["logman"]["records"] = _port()
    devices: dict[str, Any] = {}
    for name in ("tempctl", "dummy", "ogse", "psu", "motion", "daq"):  # the demo Setup's
        devices[name] = {"commands": _port(), "publish": _port()}
        if name != "dummy":
            devices[name]["simulator"] = {"host": "127.0.0.1", "port": free_tcp_port()}
    nodes = {"port": free_tcp_port(), "commands": _port(), "publish": _port()}
    settings = {
        "services": services,
        "web": {"port": 0},
        "locations": {key: str(root / key) for key in ("conf_repo", "data", "state")},
        "devices": devices,
        "bridges": {"nodes": nodes, "pipe": {"port": free_tcp_port()}},
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def controlroom(settings: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTROLROOM_LOCAL_SETTINGS": str(settings)}
    argv = [sys.executable, "-m", "controlroom.cli.main", *args]
    return subprocess.run(argv, env=env, check=check, capture_output=True, text=True)


def one_lab(root: Path, setup: str = "demo") -> tuple[float, float, dict[str, float]]:
    """Seconds for ``up -d --setup demo`` and for ``down`` to return, and the MB of
    every process."""
    settings = lab_settings(root)
    started = time.perf_counter()
    controlroom(settings, "up", "-d", "--setup", setup)
    ready = time.perf_counter() - started
    try:
        census = json.loads(controlroom(settings, "status", "--json", check=False).stdout)
        rss = {
            row["name"]: psutil.Process(row["pid"]).memory_info().rss / 2**20
            for row in census["processes"]
            if row["pid"]
        }
    finally:
        started = time.perf_counter()
        controlroom(settings, "down")
        down = time.perf_counter() - started
    return ready, down, rss


def system_figure(runs: int, setup: str = "demo") -> dict[str, Any]:
    ready, down, baseline = [], [], []
    rss: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="controlroom-bench-") as scratch:
        for run in range(runs):  # alternate baseline and subject
            baseline.append(python_baseline())
            up_s, down_s, memory = one_lab(Path(scratch) / str(run), setup)
            ready.append(up_s)
            down.append(down_s)
            for name, mb in memory.items():
                rss.setdefault(name, []).append(mb)
    return {
        "up_ready_s": round(statistics.median(ready), 3),
        "down_s": round(statistics.median(down), 3),
        "rss_mb": {name: round(statistics.median(mb), 1) for name, mb in sorted(rss.items())},
        "baseline_python_s": round(statistics.median(baseline), 3),
        "runs": runs,
        "setup": setup,
    }


def server_figure(runs: int) -> dict[str, Any]:
    one_start()  # warm the file cache so the first run is not an outlier
    ready, rss, baseline = [], [], []
    for _ in range(runs):  # alternate baseline and subject
        baseline.append(python_baseline())
        r, m = one_start()
        ready.append(r)
        rss.append(m)
    return {
        "ready_s": round(statistics.median(ready), 3),
        "rss_mb": round(statistics.median(rss), 1),
        "baseline_python_s": round(statistics.median(baseline), 3),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="starts of one control server")
    parser.add_argument("--cli-runs", type=int, default=9, help="runs of `controlroom --help`")
    parser.add_argument("--system-runs", type=int, default=3, help="runs of the whole demo lab")
    parser.add_argument("--setup", default="demo", help="Setup of the lab: 'demo' or a YAML file")
    args = parser.parse_args()
    if args.runs:
        print(json.dumps(server_figure(args.runs)))
    if args.cli_runs:
        print(json.dumps(cli_figure(args.cli_runs)))
    if args.system_runs:
        print(json.dumps(system_figure(args.system_runs, args.setup)))


if __name__ == "__main__":
    main()
