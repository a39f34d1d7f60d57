"""Foreground processes stop cleanly on signals; detached simulators are found and stopped."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import Proxy
from controlroom.rpc.child import Child, module_argv
from controlroom.rpc.process import parse_ready_line

pytestmark = pytest.mark.integration

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]
READY_S = 30.0

needs_simulator = pytest.mark.skipif(
    importlib.util.find_spec("controlroom.devices.tempctl.sim.server") is None,
    reason="the tempctl simulator (controlroom.devices.tempctl.sim.server) is not there yet",
)


def _cli_argv(*args: str) -> list[str]:
    return module_argv("controlroom.cli.main", *args)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cs_run_serves_until_signalled(local_settings: Path, signum: int) -> None:
    child = Child.spawn("cs run", _cli_argv("cs", "run", "dummy"), log_path=None)
    try:
        ready = child.wait_ready(parse_ready_line, READY_S)
        with Proxy(ready["commands"], timeout=5.0) as proxy:
            assert proxy.ping() == "pong"
        child.process.send_signal(signum)
        assert child.process.wait(READY_S) == 0
    finally:
        child.stop()


@needs_simulator
def test_sim_start_in_the_foreground_stops_on_ctrl_c(local_settings: Path) -> None:
    argv = _cli_argv("sim", "start", "tempctl", "--port", "0")
    child = Child.spawn("sim start", argv, log_path=None)
    try:
        url = child.wait_ready(
            lambda line: line if "listening on tcp://" in line else None, READY_S
        )
        assert "Ctrl-C stops it" in url
        child.process.send_signal(signal.SIGINT)
        assert child.process.wait(READY_S) == 0
    finally:
        child.stop()


@needs_simulator
def test_detached_simulator_start_and_stop(
    cli: Cli, controlroom: Controlroom, detached: Detached
) -> None:
    started = controlroom("sim", "start", "tempctl", "--detach", "--port", "0")
    assert started.returncode == 0, started.stderr
    record = detached("sim", "tempctl")
    assert record.endpoints["transport"] in started.stdout
    assert not record.endpoints["transport"].endswith(":0")

    again = cli("sim", "start", "tempctl", "--detach", "--port", "0")
    assert again.exit_code == 1 and "already running" in again.stderr

    stopped = controlroom("sim", "stop", "tempctl")
    assert stopped.returncode == 0, stopped.stderr
    assert record.process() is None
    assert "not running" in cli("sim", "stop", "tempctl").stdout


def test_help_is_the_reference(cli: Cli) -> None:
    for args in (["--help"], ["cs", "--help"], ["sim", "--help"], ["call", "--help"]):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
    version = subprocess.run(
        [sys.executable, "-m", "controlroom.cli.main", "--version"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert version.stdout.startswith("controlroom ")
