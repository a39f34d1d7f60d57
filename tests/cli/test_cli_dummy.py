"""The operator's round trip on the dummy: start, call, info, status, errors, stop."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from typer.testing import Result

from controlroom.processes.statefiles import ProcessRecord

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]

pytestmark = pytest.mark.integration


def _error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


def test_dummy_round_trip(cli: Cli, controlroom: Controlroom, detached: Detached) -> None:
    started = controlroom("cs", "start", "dummy")
    assert started.returncode == 0, started.stderr
    assert "commands tcp://127.0.0.1:" in started.stdout
    record = detached("cs", "dummy")
    process = record.process()
    assert process is not None

    reading = cli("call", "dummy", "read_value")
    assert reading.exit_code == 0, reading.stderr
    assert 15.0 < float(reading.stdout) < 25.0

    assert cli("call", "dummy", "set_offset", "5").exit_code == 0
    offset = cli("call", "dummy", "get_offset", "--json")
    assert json.loads(offset.stdout) == 5.0

    listing = cli("info", "dummy")
    assert listing.exit_code == 0, listing.stderr
    for expected in ("set_offset", "offset: number -100.0..100.0", "fail", "set_rates"):
        assert expected in listing.stdout

    table = cli("cs", "status", "dummy")
    assert table.exit_code == 0, table.stderr
    assert "up" in table.stdout and str(record.pid) in table.stdout
    report = json.loads(cli("cs", "status", "dummy", "--json").stdout)
    assert report["state"] == "up" and report["pid"] == record.pid
    assert report["endpoints"]["commands"] == record.endpoints["commands"]
    assert "value" in report["status"]["values"]

    failed = cli("call", "dummy", "fail")
    assert failed.exit_code == 1
    assert "DummyFault: the dummy failed on purpose" in _error_line(failed.stderr)
    assert "Traceback" not in failed.stdout + failed.stderr

    out_of_range = cli("call", "dummy", "set_offset", "1000")
    assert out_of_range.exit_code == 1
    assert "outside the range" in _error_line(out_of_range.stderr)
    assert json.loads(cli("call", "dummy", "get_offset", "--json").stdout) == 5.0

    stopped = controlroom("cs", "stop", "dummy")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert record.process() is None
    assert not process.is_running() or process.status() == "zombie"


def test_call_converts_arguments_by_schema(
    cli: Cli, controlroom: Controlroom, detached: Detached
) -> None:
    assert controlroom("cs", "start", "dummy").returncode == 0
    try:
        assert cli("call", "dummy", "set_offset", "-2.5").exit_code == 0  # negative: a value
        assert json.loads(cli("call", "dummy", "get_offset", "--json").stdout) == -2.5
        assert cli("call", "dummy", "set_offset", "offset=7").exit_code == 0
        assert json.loads(cli("call", "dummy", "get_offset", "--json").stdout) == 7.0
        echoed = cli("call", "dummy", "echo", '{"a": [1, 2]}', "--json")
        assert json.loads(echoed.stdout) == {"a": [1, 2]}
        rates = cli("call", "dummy", "set_rates", "status_period_s=0.25", "--json")
        assert json.loads(rates.stdout)["status"]["requested_s"] == 0.25
        assert cli("call", "dummy", "ping").stdout.strip() == "pong"
    finally:
        assert controlroom("cs", "stop", "dummy").returncode == 0
