"""``controlroom status`` when parts of the lab are down."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from controlroom.processes.statefiles import ProcessRecord

Controlroom = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    return lab_settings({})


def test_nothing_running_is_reported_down_with_exit_code_3(controlroom: Controlroom) -> None:
    result = controlroom("status", "--json", "--timeout", "0.2")
    assert result.returncode == 3, result.stderr
    census = json.loads(result.stdout)
    assert census["procman"] is False and census["all_up"] is False
    rows = {row["name"]: row for row in census["processes"]}
    assert {"procman", "registry", "logman", "confman", "storage", "scheduler"} <= set(rows)
    assert not any(row["up"] for row in rows.values())
    assert census["setup_id"] is None and census["obsid"] is None


@pytest.mark.integration
def test_a_service_started_alone_is_up_and_the_rest_down(
    controlroom: Controlroom, detached: Callable[[str, str], ProcessRecord]
) -> None:
    started = controlroom("confman", "start")
    assert started.returncode == 0, started.stderr
    try:
        result = controlroom("status", "--json", "--timeout", "0.5")
        census = json.loads(result.stdout)
        rows = {row["name"]: row for row in census["processes"]}
        assert rows["confman"]["up"] and rows["confman"]["pid"] == detached("cs", "confman").pid
        assert not rows["storage"]["up"]
        assert result.returncode == 3
        assert census["site"] == "LAB"
        table = controlroom("status", "--timeout", "0.5").stdout
        assert "no process manager answers" in table and "confman" in table
    finally:
        assert controlroom("confman", "stop").returncode == 0


def test_every_host_of_the_settings_is_listed_also_with_nothing_up(
    lab_settings: Callable[[dict[str, Any]], Path], controlroom: Controlroom
) -> None:
    lab_settings({"hosts": {"bench": "10.0.0.2"}})
    result = controlroom("status", "--json", "--timeout", "0.2")
    assert result.returncode == 3, result.stderr
    census = json.loads(result.stdout)
    hosts = {host["name"]: host for host in census["hosts"]}
    assert census["host"] == "default" and list(hosts) == ["default", "bench"]
    assert hosts["bench"] == {
        "name": "bench",
        "address": "10.0.0.2",
        "procman": None,
        "processes": 0,
        "up": 0,
        "note": "the registry does not answer",
    }
    by_host = {(row["host"], row["name"]) for row in census["processes"]}
    assert {("default", "procman"), ("default", "registry"), ("bench", "procman")} <= by_host
    table = controlroom("status", "--timeout", "0.2").stdout
    assert "host default (127.0.0.1) - this host: 0 of 6 up" in table
    assert "host bench (10.0.0.2): 0 of 0 up" in table
    assert "no process manager answers: the registry does not answer" in table
    assert "the registry does not answer: other hosts cannot be found" in table


def test_the_host_named_in_the_environment_is_this_one(
    lab_settings: Callable[[dict[str, Any]], Path],
    controlroom: Controlroom,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab_settings({"hosts": {"bench": "10.0.0.2"}})
    monkeypatch.setenv("CONTROLROOM_HOST", "bench")
    census = json.loads(controlroom("status", "--json", "--timeout", "0.2").stdout)
    assert census["host"] == "bench" and census["hosts"][0]["name"] == "bench"
    monkeypatch.setenv("CONTROLROOM_HOST", "hexapod")
    refused = controlroom("status", "--json", "--timeout", "0.2")
    assert refused.returncode == 1
    assert "CONTROLROOM_HOST: 'hexapod' is not a host of the Settings" in refused.stderr


def test_the_lease_column_says_who_holds_a_server_and_until_when() -> None:
    from controlroom.cli.labstatus import _lease_text

    lease = {"holder": "key operator", "until": "2026-12-07T12:30:00Z"}
    assert _lease_text(lease) == "key operator until 2026-12-07T12:30:00Z"
    assert _lease_text(None) == "-"
