"""``controlroom hk get|names``, ``journal`` and ``storage start|stop`` against a real manager."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from controlroom.cli.main import app
from controlroom.config.settings import load_settings
from controlroom.device.proxy import make_proxy
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import ControlServer
from controlroom.rpc.hooks import CommandRecord
from controlroom.services.storage.journal import JOURNAL, journal_values
from controlroom.services.storage.server import StorageManager, build_server
from controlroom.storage import format_datetime
from controlroom.wire import ErrorInfo

ANY_PORT = "tcp://127.0.0.1:0"
LAMP_AGES = (7200.0, 600.0, 300.0, 60.0)  # seconds before the test; the first is 2 h old


def _write(path: Path, tmp_path: Path, storage_endpoint: str) -> Path:
    local = {
        "site": "LAB",
        "services": {"storage": {"commands": storage_endpoint, "publish": ANY_PORT}},
        "locations": {name: str(tmp_path / name) for name in ("conf_repo", "data", "state")},
        "storage": {"backends": ["sqlite"]},
    }
    path.write_text(yaml.safe_dump(local))
    return path


@pytest.fixture
def settings_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = _write(tmp_path / "local-settings.yaml", tmp_path, ANY_PORT)
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def now() -> float:
    """When the test's rows were stored: the CLI's --since spans count back from its now."""
    return time.time()


@pytest.fixture
def lamp_times(now: float) -> list[float]:
    return [now - age for age in LAMP_AGES]


@pytest.fixture
def storage(
    settings_path: Path, tmp_path: Path, now: float, lamp_times: list[float]
) -> Iterator[ControlServer]:
    """A storage manager in this process with HK and journal rows; the Settings point at it."""
    server = build_server(load_settings(settings_path))
    with server:
        _write(settings_path, tmp_path, server.endpoint)  # the port it got, for the CLI
        with make_proxy(StorageManager, server.endpoint, timeout=10.0) as proxy:
            proxy.store(
                "OGSE", [_row(t, "LAB_00001", LAMP=i + 0.5) for i, t in enumerate(lamp_times)]
            )
            proxy.store("TEMPCTL", [_row(now - 30, None, T_STAGE=80.25)])
            proxy.store(JOURNAL, _journal_rows(now))
        yield server


def _row(t: float, obsid: str | None, **values: Any) -> dict[str, Any]:
    return {"timestamp": t, "setup_id": 3, "obsid": obsid, "values": values}


def _journal_rows(now: float) -> list[dict[str, Any]]:
    ok = CommandRecord(now - 20, "dummy", "set_offset", [2.5], {}, 0.0012)
    failed = CommandRecord(
        now - 10,
        "dummy",
        "fail",
        ["on purpose"],
        {},
        0.002,
        error=ErrorInfo("DummyFault", "on purpose"),
    )
    other = CommandRecord(
        now - 5, "tempctl", "set_setpoint", [1], {"value": 80.0}, 0.01, result=80.0
    )
    return [
        _row(ok.time, "LAB_00001", **journal_values(ok)),
        _row(failed.time, "LAB_00001", **journal_values(failed)),
        _row(other.time, "LAB_00002", **journal_values(other)),
    ]


@pytest.fixture
def run(storage: ControlServer) -> Callable[..., Result]:
    runner = CliRunner(env={"COLUMNS": "200"})
    return lambda *args: runner.invoke(app, list(args))


def test_hk_get_json_gives_times_and_values_of_the_last_hour(
    run: Callable[..., Result], lamp_times: list[float]
) -> None:
    result = run("hk", "get", "LAMP", "--json")
    assert result.exit_code == 0, result.output
    series = json.loads(result.stdout)
    assert series["origin"] == "OGSE" and series["name"] == "LAMP"
    assert series["times"] == lamp_times[1:]  # --since defaults to 1h
    assert series["values"] == [1.5, 2.5, 3.5]
    everything = json.loads(run("hk", "get", "LAMP", "--since", "0", "--json").stdout)
    assert everything["values"] == [0.5, 1.5, 2.5, 3.5]
    # Between two samples: an ISO time has microseconds, a stored time more digits.
    until = format_datetime((lamp_times[1] + lamp_times[2]) / 2).replace("+0000", "+00:00")
    window = json.loads(
        run("hk", "get", "LAMP", "--since", "3h", "--until", until, "--json").stdout
    )
    assert window["values"] == [0.5, 1.5]


def test_hk_get_csv_has_a_header_and_utc_timestamps(
    run: Callable[..., Result], lamp_times: list[float]
) -> None:
    result = run("hk", "get", "LAMP", "--csv", "--since", "3h", "--limit", "2")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["timestamp", "LAMP"]
    assert rows[1:] == [[format_datetime(lamp_times[i]), str(i + 0.5)] for i in (0, 1)]


def test_hk_get_as_a_table(run: Callable[..., Result], now: float) -> None:
    result = run("hk", "get", "T_STAGE")
    assert result.exit_code == 0, result.output
    assert "T_STAGE from TEMPCTL: 1 values" in result.stdout
    assert format_datetime(now - 30)[:19] in result.stdout and "80.25" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("hk", "get", "NOPE"), "no stored HK parameter 'NOPE'"),
        (("hk", "get", "LAMP", "--since", "yesterday"), "not a time: 'yesterday'"),
        (("hk", "get", "LAMP", "--json", "--csv"), "choose one of --json and --csv"),
        (("journal", "--since", "soon"), "not a time: 'soon'"),
    ],
)
def test_mistakes_end_in_one_line(
    run: Callable[..., Result], args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_hk_names(run: Callable[..., Result]) -> None:
    found = json.loads(run("hk", "names", "--json").stdout)
    assert {"name": "LAMP", "origin": "OGSE", "unit": ""} in found
    assert {"name": "T_STAGE", "origin": "TEMPCTL", "unit": ""} in found
    assert all(entry["origin"] != JOURNAL for entry in found)
    only = json.loads(run("hk", "names", "--origin", "OGSE", "--json").stdout)
    assert {entry["origin"] for entry in only} == {"OGSE"}
    table = run("hk", "names", "--origin", "TEMPCTL").stdout
    assert "T_STAGE" in table and "LAMP" not in table


def test_journal_json_and_filters(run: Callable[..., Result]) -> None:
    entries = json.loads(run("journal", "--json").stdout)
    assert [e["command"] for e in entries] == ["set_offset", "fail", "set_setpoint"]
    assert entries[1]["error_type"] == "DummyFault" and entries[1]["setup_id"] == 3
    by_obsid = json.loads(run("journal", "--obsid", "LAB_00002", "--json").stdout)
    assert [e["command"] for e in by_obsid] == ["set_setpoint"]
    by_server = json.loads(run("journal", "--server", "dummy", "--limit", "1", "--json").stdout)
    assert [e["command"] for e in by_server] == ["fail"]
    recent = json.loads(run("journal", "--since", "15s", "--json").stdout)
    assert [e["command"] for e in recent] == ["fail", "set_setpoint"]


def test_journal_table(run: Callable[..., Result]) -> None:
    result = run("journal")
    assert result.exit_code == 0, result.output
    assert "set_offset(2.5)" in result.stdout
    assert "set_setpoint(1, value=80.0)" in result.stdout and "ok → 80.0" in result.stdout
    assert "DummyFault: on purpose" in result.stdout and "LAB_00002" in result.stdout


def test_without_a_running_manager_the_error_says_how_to_start_it(
    settings_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["hk", "names"])
    assert result.exit_code == 1
    assert "start it with `controlroom storage start`" in result.stderr


@pytest.mark.integration
def test_storage_start_serves_and_stop_ends_it(
    settings_path: Path,
    tmp_path: Path,
    detached: Callable[[str, str], ProcessRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The `detached` fixture finds leftovers in tmp_path/state: the same state directory.
    def controlroom(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "controlroom.cli.main", *args]
        return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)

    started = controlroom("storage", "start")
    assert started.returncode == 0, started.stderr
    assert "storage manager started" in started.stdout
    record = detached("cs", "storage")
    assert controlroom("hk", "names", "--json").stdout.strip() != ""
    again = controlroom("storage", "start")
    assert again.returncode == 1 and "already running" in again.stderr
    stats = json.loads(controlroom("storage", "stats", "--json").stdout)
    assert stats["rows"] == 0 and "sqlite" in stats["backends"]
    stopped = controlroom("storage", "stop")
    assert stopped.returncode == 0 and f"stopped (pid {record.pid})" in stopped.stdout
    assert record.process() is None
    assert (tmp_path / "data" / "hk.sqlite").exists()
