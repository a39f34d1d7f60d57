"""Every failure ends in one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import Result

from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.child import wait_gone

pytestmark = pytest.mark.integration

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]


def error_line(result: Result) -> str:
    """The single error line of a failed command."""
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stdout
    return lines[0]


@pytest.fixture
def dummy(controlroom: Controlroom, detached: Detached) -> Iterator[ProcessRecord]:
    """A dummy control server started with `cs start`, stopped afterwards."""
    started = controlroom("cs", "start", "dummy")
    assert started.returncode == 0, started.stderr
    yield detached("cs", "dummy")
    controlroom("cs", "stop", "dummy")


def test_unknown_device_lists_the_known_ones(cli: Cli) -> None:
    line = error_line(cli("call", "nodev", "ping"))
    assert "no device 'nodev'" in line and "dummy" in line and "tempctl" in line
    assert "no device 'nodev'" in error_line(cli("cs", "start", "nodev"))


def test_unknown_command_suggests_close_names(cli: Cli, dummy: ProcessRecord) -> None:
    line = error_line(cli("call", "dummy", "set_ofset", "3"))
    assert "dummy has no command 'set_ofset'" in line and "set_offset" in line
    assert "controlroom info dummy" in error_line(cli("call", "dummy", "launch"))


def test_bad_arguments_name_the_argument(cli: Cli, dummy: ProcessRecord) -> None:
    assert "argument 'offset': expected a number, got 'abc'" in error_line(
        cli("call", "dummy", "set_offset", "abc")
    )
    assert "has no argument 'ofset'" in error_line(cli("call", "dummy", "set_offset", "ofset=1"))
    assert "missing a required argument" in error_line(cli("call", "dummy", "set_offset"))


def test_debug_shows_local_and_remote_tracebacks(cli: Cli, dummy: ProcessRecord) -> None:
    result = cli("--debug", "call", "dummy", "fail")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "remote traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: DummyFault")


def test_call_to_a_stopped_server_fails_without_trying_it(
    cli: Cli, controlroom: Controlroom
) -> None:
    assert controlroom("cs", "start", "dummy").returncode == 0
    assert controlroom("cs", "stop", "dummy").returncode == 0
    # Known from the state files and the registry: a call tried anyway would have
    # waited out its minute and said it timed out, not that the server is not running.
    line = error_line(cli("call", "dummy", "read_value", "--timeout", "60"))
    assert "dummy is not running" in line


def test_call_to_a_killed_server_forgets_its_stale_state(
    cli: Cli, dummy: ProcessRecord, state_dir: Path
) -> None:
    process = dummy.process()
    assert process is not None
    process.kill()
    assert wait_gone(process, 10.0)
    assert "dummy is not running" in error_line(cli("call", "dummy", "ping", "--timeout", "1"))
    assert not (state_dir / "cs-dummy.json").exists()


def test_call_to_a_hung_server_times_out(cli: Cli, dummy: ProcessRecord) -> None:
    os.kill(dummy.pid, signal.SIGSTOP)  # alive but not answering, like a wedged process
    try:
        line = error_line(cli("call", "dummy", "read_value", "--timeout", "0.5"))
        # The call gave up while the server was still wedged: nothing could have answered it.
        assert psutil.Process(dummy.pid).status() == psutil.STATUS_STOPPED
        # Connected but never answering: no reply, or no handshake, within the timeout.
        assert "dummy" in line and "is it running?" in line
        down = cli("cs", "status", "dummy", "--timeout", "0.5")
        assert down.exit_code == 3 and "down" in down.stdout
    finally:
        os.kill(dummy.pid, signal.SIGCONT)


def test_start_twice_is_refused(cli: Cli, dummy: ProcessRecord) -> None:
    line = error_line(cli("cs", "start", "dummy"))
    assert f"dummy is already running (pid {dummy.pid}" in line


def test_a_server_that_dies_at_start_is_explained(
    write_settings: Callable[..., Path], cli: Cli
) -> None:
    write_settings(broken={"controller": "controlroom.devices.dummy:NoSuchSensor"})
    line = error_line(cli("cs", "start", "broken", "--timeout", "30"))
    assert "broken control server exited with code 1 before it was ready" in line
    assert "NoSuchSensor" in line


def test_stop_and_status_of_a_server_that_is_not_running(cli: Cli) -> None:
    stopped = cli("cs", "stop", "dummy")
    assert stopped.exit_code == 0 and "dummy is not running" in stopped.stdout
    status = cli("cs", "status", "dummy", "--json")
    assert status.exit_code == 3
    assert json.loads(status.stdout)["state"] == "down"


def test_settings_problems_are_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert "cannot read local settings" in error_line(cli("--settings", str(missing), "info", "x"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("devices: [unclosed\n")
    assert str(broken) in error_line(cli("--settings", str(broken), "info", "dummy"))


def test_simulator_commands_on_a_device_without_simulator(cli: Cli) -> None:
    assert "dummy has no simulator" in error_line(cli("sim", "stop", "dummy"))
    assert "dummy has no simulator" in error_line(cli("sim", "start", "dummy", "--detach"))
