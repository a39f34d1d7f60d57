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
