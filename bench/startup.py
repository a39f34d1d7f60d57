"""Start-up benchmark: seconds from launching a control server to its first ping, and its RSS.

Prints ``{"ready_s", "rss_mb", "baseline_python_s", "runs"}``: the median over
several runs of the time from ``Popen`` to the first answered ``ping`` of a
dummy control server, its resident memory once ready, and, measured in the
same rounds, how long a bare ``python -c pass`` takes to start on this machine.

Then the CLI figure, ``{"cli_help_s", "baseline_python_s", "cli_help_over_baseline_s"}``:
the median wall time of ``controlroom --help`` (the console script, in a
subprocess) and of a bare ``python -c pass`` measured in alternating rounds,
and their difference: what the command itself costs before it prints a line.

Then the system figure, ``{"forked": {...}, "spawned": {...}, "baseline_python_s", ...}``,
each with ``{"up_ready_s", "down_s", "pss_mb", "uss_mb", "processes"}``:
seconds from launching ``controlroom up -d --setup demo`` until it returns
with every process ready, seconds from launching ``controlroom down`` until
it returns with all of them stopped, and the memory of the process manager
and everything under it together (PSS: shared pages counted in shares; USS:
each process's own), median over the runs, on OS-chosen ports in a scratch
directory. ``forked`` is the default lab (the process manager forks from
its process factory), ``spawned`` the same lab with ``services.procman.fork``
off; the two alternate with the baseline round by round. Targets: the demo
ready in under 1.5 s, under 400 MB PSS, stopped in under 2 s.
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


def lab_settings(root: Path, *, fork: bool = True) -> Path:
    """Settings for a demo lab of its own: free ports, files under ``root``; ``fork``:
    whether the process manager forks its processes from the process factory."""
    services: dict[str, Any] = {n: {"commands": _port(), "publish": _port()} for n in SERVICES}
    services["logman"]["records"] = _port()
    services["procman"]["fork"] = fork
    devices: dict[str, Any] = {}
    demo = ("tempctl", "dummy", "ogse", "psu", "motion", "hexapod", "daq", "dmm")
    for name in demo:  # the demo Setup's devices
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


def lab_processes(census: dict[str, Any]) -> list[psutil.Process]:
    """Every process of the lab: the process manager and all it started, and theirs."""
    for row in census["processes"]:
        if row["pid"] and str(row["name"]).startswith("procman"):
            procman = psutil.Process(row["pid"])
            return [procman, *procman.children(recursive=True)]
    raise RuntimeError("the census names no process manager")


def memory(processes: list[psutil.Process]) -> dict[str, float]:
    """PSS and USS of ``processes`` together, MB (shared pages counted once, in shares)."""
    pss = uss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue  # exited meanwhile (a short-lived helper)
        pss += info.pss
        uss += info.uss
    return {"pss_mb": pss / 2**20, "uss_mb": uss / 2**20, "processes": len(processes)}


def one_lab(root: Path, setup: str = "demo", *, fork: bool = True) -> dict[str, float]:
    """Seconds for ``up -d --setup demo`` and for ``down`` to return, and the memory of
    the lab's processes together."""
    settings = lab_settings(root, fork=fork)
    started = time.perf_counter()
    controlroom(settings, "up", "-d", "--setup", setup)
    ready = time.perf_counter() - started
    try:
        census = json.loads(controlroom(settings, "status", "--json", check=False).stdout)
        figures = memory(lab_processes(census))
    finally:
        started = time.perf_counter()
        controlroom(settings, "down")
        down = time.perf_counter() - started
    return {"up_ready_s": ready, "down_s": down, **figures}


def system_figure(runs: int, setup: str = "demo") -> dict[str, Any]:
    """The demo lab forked (the default) and spawned, in alternating rounds."""
    rounds: dict[str, list[dict[str, float]]] = {"forked": [], "spawned": []}
    baseline = []
    with tempfile.TemporaryDirectory(prefix="controlroom-bench-") as scratch:
        for run in range(runs):  # alternate baseline and subjects
            baseline.append(python_baseline())
            for kind, figures in rounds.items():
                where = Path(scratch) / f"{kind}-{run}"
                figures.append(one_lab(where, setup, fork=kind == "forked"))
    result: dict[str, Any] = {}
    for kind, figures in rounds.items():
        result[kind] = {
            key: round(statistics.median(f[key] for f in figures), 3) for key in figures[0]
        }
    result.update(baseline_python_s=round(statistics.median(baseline), 3), runs=runs, setup=setup)
    return result


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
