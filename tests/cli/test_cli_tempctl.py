"""The tempctl chain from the command line: simulator, control server on it, commands."""

from __future__ import annotations

import importlib
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from controlroom.processes.statefiles import ProcessRecord

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]


def _has_tempctl() -> bool:
    try:
        module = importlib.import_module("controlroom.devices.tempctl")
        importlib.import_module("controlroom.devices.tempctl.sim.server")
    except ImportError:
        return False
    return hasattr(module, "TempCtlController")


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _has_tempctl(),
        reason="controlroom.devices.tempctl has no TempCtlController (or simulator) yet",
    ),
]


def _a_read_command(info: dict[str, Any]) -> str:
    """A command that only reads and needs no argument: safe to call on any driver version."""
    for command in info["commands"]:
        if command["kind"] in ("query", "read") and not command["params"]["required"]:
            return str(command["name"])
    pytest.fail("tempctl declares no query without arguments")


def test_tempctl_on_its_simulator(cli: Cli, controlroom: Controlroom, detached: Detached) -> None:
    sim = controlroom("sim", "start", "tempctl", "--detach", "--port", "0")
    assert sim.returncode == 0, sim.stderr
    try:
        server = controlroom("cs", "start", "tempctl", "--sim")
        assert server.returncode == 0, server.stderr
        assert cli("call", "tempctl", "ping").stdout.strip() == "pong"

        listing = cli("info", "tempctl", "--json")
        assert listing.exit_code == 0, listing.stderr
        command = _a_read_command(json.loads(listing.stdout))
        result = cli("call", "tempctl", command, "--json")
        assert result.exit_code == 0, result.stderr
        json.loads(result.stdout)

        status = cli("cs", "status", "tempctl", "--json")
        assert json.loads(status.stdout)["state"] == "up"
    finally:
        stopped = [controlroom("cs", "stop", "tempctl"), controlroom("sim", "stop", "tempctl")]
    assert all(p.returncode == 0 for p in stopped), [p.stderr for p in stopped]
