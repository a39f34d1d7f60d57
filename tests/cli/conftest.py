"""Fixtures for the CLI tests: local settings on port 0, in-process and subprocess runners.

Processes that ``cs start`` or ``sim start --detach`` leave running are in
their own session and are not children of pytest, so the suite-wide leak
check cannot see them: the ``detached`` fixture stops them by PID and fails
the test if one was left behind.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from controlroom.cli.main import app
from controlroom.processes.detached import stop_pid
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.child import wait_gone
from controlroom.testing.ports import free_tcp_port

ANY_PORT = "tcp://127.0.0.1:0"
CLI_TIMEOUT_S = 60.0  # upper bound for one CLI process; they normally take about a second

SettingsWriter = Callable[..., Path]
Cli = Callable[..., Result]
Controlroom = Callable[..., "subprocess.CompletedProcess[str]"]


def isolated_services() -> dict[str, Any]:
    """Core service endpoints on ports the OS says are free, so a control server
    started by a test never talks to services that happen to run on this machine."""
    services: dict[str, Any] = {}
    for name in ("confman", "storage", "logman", "registry", "procman", "scheduler", "scenarios"):
        services[name] = {
            "commands": f"tcp://127.0.0.1:{free_tcp_port()}",
            "publish": f"tcp://127.0.0.1:{free_tcp_port()}",
        }
    services["logman"]["records"] = f"tcp://127.0.0.1:{free_tcp_port()}"
    return services


def base_settings(state_dir: Path) -> dict[str, Any]:
    return {
        "runtime": {"state_dir": str(state_dir)},
        "services": isolated_services(),
        "web": {"port": 0},
        "locations": {
            "data": str(state_dir.parent / "data"),
            "conf_repo": str(state_dir.parent / "conf_repo"),
        },
        "devices": {
            "tempctl": {
                "commands": ANY_PORT,
                "publish": ANY_PORT,
                "simulator": {"host": "127.0.0.1", "port": 0},
                "status_period_s": 0.2,
            },
            "dummy": {"commands": ANY_PORT, "publish": ANY_PORT, "status_period_s": 0.1},
        },
    }


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def write_settings(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> SettingsWriter:
    """Write the local settings (plus ``devices`` given) and point the environment at them."""

    def write(**devices: dict[str, Any]) -> Path:
        settings = base_settings(state_dir)
        settings["devices"].update(devices)
        path = tmp_path / "local-settings.yaml"
        path.write_text(yaml.safe_dump(settings))
        monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
        return path

    return write


@pytest.fixture
def local_settings(write_settings: SettingsWriter) -> Path:
    return write_settings()


@pytest.fixture
def cli(local_settings: Path) -> Cli:
    """Run ``controlroom ARGS`` in this process (stdout and stderr kept apart)."""
    runner = CliRunner(env={"COLUMNS": "200"})  # tables on one line each, easy to search

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def controlroom(local_settings: Path) -> Controlroom:
    """Run ``controlroom ARGS`` as its own process, as an operator would."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "controlroom.cli.main", *args]
        # The exit code is part of what the tests check, so no check=True.
        return subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
        )

    return run


@pytest.fixture
def detached(state_dir: Path) -> Iterator[Callable[[str, str], ProcessRecord]]:
    """Gives the state record of a detached process; stops leftovers at teardown."""

    def record(kind: str, name: str) -> ProcessRecord:
        return ProcessRecord.from_json((state_dir / f"{kind}-{name}.json").read_text())

    yield record
    leftovers = []
    for path in sorted(state_dir.glob("*.json")):
        process = ProcessRecord.from_json(path.read_text()).process()
        if process is not None:
            leftovers.append(path.stem)
            stop_pid(process)
            assert wait_gone(process, 10.0), f"{path.stem} (pid {process.pid}) survived SIGKILL"
    assert not leftovers, f"the test left detached processes running: {leftovers}"


def isolated_devices() -> dict[str, Any]:
    """Every shipped device (and its simulator) on free ports: the demo Setup runs them all."""
    devices: dict[str, Any] = {}
    for name in ("tempctl", "dummy", "ogse", "psu", "motion", "hexapod", "daq", "dmm", "dpu"):
        devices[name] = {"commands": any_free_endpoint(), "publish": any_free_endpoint()}
        if name != "dummy":
            devices[name]["simulator"] = {"host": "127.0.0.1", "port": free_tcp_port()}
    return devices


def isolated_bridges() -> dict[str, Any]:
    """The bridges of the demo Setup on free ports."""
    nodes = {"port": free_tcp_port(), "commands": any_free_endpoint()}
    nodes["publish"] = any_free_endpoint()
    return {"nodes": nodes, "pipe": {"port": free_tcp_port()}}


def any_free_endpoint() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def lab_settings(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, Any]], Path]:
    """Write settings for a whole lab: every service on a port the OS says is free
    (they must be known before the services start), locations in tmp_path, plus
    the ``extra`` top-level sections given; point the environment at the file."""

    def write(extra: dict[str, Any]) -> Path:
        settings: dict[str, Any] = {
            "site": "LAB",
            "services": isolated_services(),
            "web": {"port": 0, "allow_anonymous": True},
            "locations": {
                "conf_repo": str(tmp_path / "conf_repo"),
                "data": str(tmp_path / "data"),
                "state": str(state_dir),
            },
            "devices": isolated_devices(),
            "bridges": isolated_bridges(),
        }
        for key, value in extra.items():  # sections given are merged over those above
            old = settings.get(key)
            settings[key] = {**old, **value} if isinstance(old, dict) else value
        path = tmp_path / "local-settings.yaml"
        path.write_text(yaml.safe_dump(settings))
        monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
        return path

    return write


def serve_on_its_simulator(controlroom: Controlroom, name: str) -> None:
    """Start ``name``'s simulator (detached, any port), then its control server on it."""
    sim = controlroom("sim", "start", name, "--detach", "--port", "0")
    assert sim.returncode == 0, sim.stderr
    server = controlroom("cs", "start", name, "--sim")
    assert server.returncode == 0, server.stderr


def stop_served(controlroom: Controlroom, name: str) -> None:
    """Stop what :func:`serve_on_its_simulator` started; both must stop cleanly."""
    stopped = [controlroom("cs", "stop", name), controlroom("sim", "stop", name)]
    assert all(p.returncode == 0 for p in stopped), [p.stderr for p in stopped]
