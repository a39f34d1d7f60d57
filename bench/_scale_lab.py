"""The simulated lab of ``scale.py``: its Settings and Setup, the CLI, its processes.

A lab of its own in a scratch directory, as ``startup.py`` builds the demo's:
the core services on free ports below the ephemeral range (clients find them
through the Settings), every device on port 0 (the process manager pins what
the OS chose at the first ready line, and links each simulator's port to its
control server), the panel on port 0, files under the scratch directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import psutil
import yaml

from controlroom.testing.ports import free_tcp_port

SERVICES = ("confman", "storage", "logman", "registry", "procman", "scheduler", "scenarios")
KINDS = ("tempctl", "dummy", "psu")  # a third of the lab each, in turn
ANY_PORT = "tcp://127.0.0.1:0"
HK_PERIOD_S = 1.0
SETTINGS_VARIABLE = "CONTROLROOM_LOCAL_SETTINGS"


@dataclass(frozen=True)
class Lab:
    """Where one lab's files are, and which devices it has (name -> kind)."""

    root: Path
    devices: dict[str, str]
    # Every lab process seen (PID -> start time): forked ones cannot be told by their
    # environment, which their process titles overwrite.
    seen: dict[int, float] = field(default_factory=dict)

    @property
    def settings(self) -> Path:
        return self.root / "settings.yaml"

    @property
    def setup(self) -> Path:
        return self.root / "setup.yaml"

    def storage_endpoint(self) -> str:
        settings = yaml.safe_load(self.settings.read_text())
        return str(settings["services"]["storage"]["commands"])


def device_names(count: int) -> dict[str, str]:
    """``count`` devices, the kinds in turn, each numbered within its kind (tempctl_007)."""
    numbers = dict.fromkeys(KINDS, 0)
    names = {}
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        names[f"{kind}_{numbers[kind]:03d}"] = kind
        numbers[kind] += 1
    return names


def _packaged_devices() -> dict[str, Any]:
    text = resources.files("controlroom.config").joinpath("settings.yaml").read_text()
    devices: dict[str, Any] = yaml.safe_load(text)["devices"]
    return devices


def _device_entry(packaged: dict[str, Any]) -> dict[str, Any]:
    """A packaged device's driver and simulator, every endpoint left to the OS."""
    entry: dict[str, Any] = {
        "description": packaged["description"],
        "controller": packaged["controller"],
        "commands": ANY_PORT,
        "publish": ANY_PORT,
        "hk_period_s": HK_PERIOD_S,
    }
    if "simulator" in packaged:
        module = packaged["simulator"]["module"]
        entry["simulator"] = {"module": module, "host": "127.0.0.1", "port": 0}
    return entry


def _port() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


def write_lab(root: Path, count: int) -> Lab:
    """Settings and Setup files of a lab of ``count`` simulated devices under ``root``."""
    lab = Lab(root, device_names(count))
    packaged = _packaged_devices()
    services: dict[str, Any] = {n: {"commands": _port(), "publish": _port()} for n in SERVICES}
    services["logman"]["records"] = _port()
    settings = {
        "services": services,
        # Anonymous viewers on loopback: the page loads need no login.
        "web": {"port": 0, "allow_anonymous": True, "anonymous_role": "viewer"},
        "locations": {key: str(root / key) for key in ("conf_repo", "data", "state")},
        "devices": {name: _device_entry(packaged[kind]) for name, kind in lab.devices.items()},
    }
    setup = {
        "devices": {
            name: {"simulated": True} if kind != "dummy" else {}
            for name, kind in lab.devices.items()
        }
    }
    root.mkdir(parents=True, exist_ok=True)
    lab.settings.write_text(yaml.safe_dump(settings))
    lab.setup.write_text(yaml.safe_dump(setup))
    return lab


def controlroom(
    lab: Lab, *args: str, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``controlroom ARGS`` with this lab's Settings, as an operator types it."""
    script = Path(sys.executable).with_name("controlroom")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "controlroom.cli.main"]
    env = {**os.environ, SETTINGS_VARIABLE: str(lab.settings)}
    return subprocess.run(
        [*command, *args], env=env, check=check, capture_output=True, text=True, timeout=timeout
    )


def census(lab: Lab) -> list[dict[str, Any]]:
    """Every process of the lab as ``controlroom status --json`` lists them."""
    result = controlroom(lab, "status", "--json", check=False, timeout=120)
    rows: list[dict[str, Any]] = json.loads(result.stdout)["processes"]
    return rows


def procman_pid(lab: Lab) -> int | None:
    """The process manager's PID, from the state file its start left."""
    for path in (lab.root / "state").rglob("*procman*.json"):
        try:
            pid = json.loads(path.read_text()).get("pid")
        except (OSError, ValueError):
            continue
        if isinstance(pid, int) and psutil.pid_exists(pid):
            return pid
    return None


def lab_processes(lab: Lab) -> list[psutil.Process]:
    """The process manager and every descendant of it (the process factory included)."""
    pid = procman_pid(lab)
    if pid is None:
        return []
    try:
        manager = psutil.Process(pid)
        processes = [manager, *manager.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            lab.seen.setdefault(process.pid, process.create_time())
    return processes


def _started_for(lab: Lab) -> Iterator[psutil.Process]:
    """Processes seen in the lab and still running, and those whose environment names
    this lab's Settings (the process manager, its factory, the watcher, whatever
    started after the last look)."""
    me = os.getpid()
    for process in psutil.process_iter():
        if process.pid == me:
            continue
        try:
            seen = lab.seen.get(process.pid) == process.create_time()
            if seen or process.environ().get(SETTINGS_VARIABLE) == str(lab.settings):
                yield process
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue


def stop_lab(lab: Lab) -> tuple[float | None, list[str]]:
    """``controlroom down`` (its seconds, None if it failed), then kill by PID what is
    left; returns the seconds and ``PID command line`` of each process killed."""
    lab_processes(lab)  # what runs now is seen, should `down` leave any of it
    started = time.perf_counter()
    try:
        result = controlroom(lab, "down", check=False, timeout=300)
        down_s: float | None = time.perf_counter() - started if result.returncode == 0 else None
    except subprocess.TimeoutExpired:
        down_s = None
    left, killed = list(_started_for(lab)), []
    for process in left:
        try:
            killed.append(f"{process.pid} {' '.join(process.cmdline())}")
            process.kill()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    psutil.wait_procs(left, timeout=10)
    return down_s, killed
