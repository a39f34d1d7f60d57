"""The lab end to end, as an operator runs it: confman, storage manager and a device server.

Housekeeping flows into storage with its Setup id and obsid, every device command
lands in the journal, and the CLI reads both back.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlroom.processes.statefiles import ProcessRecord
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]


@pytest.fixture
def local_settings(lab_settings: Callable[[dict[str, Any]], Path]) -> Path:
    port = "tcp://127.0.0.1:{}".format
    return lab_settings(
        {
            "devices": {
                "dummy": {
                    "commands": port(free_tcp_port()),
                    "publish": port(free_tcp_port()),
                    "hk_period_s": 0.05,
                },
            },
            "storage": {"sender": {"batch_delay_s": 0.05}},
        }
    )


@pytest.fixture
def lab(controlroom: Controlroom, detached: Detached) -> Iterator[None]:
    started: list[tuple[str, ...]] = []
    try:
        for start, stop in (
            (("confman", "start"), ("confman", "stop")),
            (("storage", "start"), ("storage", "stop")),
            (("cs", "start", "dummy"), ("cs", "stop", "dummy")),
        ):
            result = controlroom(*start)
            assert result.returncode == 0, result.stderr
            started.append(stop)
        yield
    finally:
        for stop in reversed(started):
            controlroom(*stop)


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_housekeeping_and_journal_reach_storage_with_their_obsid(
    controlroom: Controlroom, lab: None
) -> None:
    started = controlroom("obs", "start", "end-to-end check")
    assert started.returncode == 0, started.stderr
    obsid = started.stdout.split()[1]  # "observation LAB_00001 started"
    assert obsid.startswith("LAB_")
    assert controlroom("call", "dummy", "set_offset", "1.5").returncode == 0
    assert controlroom("call", "dummy", "fail", "on purpose").returncode == 1

    def stored() -> list[float]:
        series = _json(controlroom("hk", "get", "DUMMY_OFFSET", "--since", "10m", "--json"))
        return list(series["values"])

    # Canonical name from the telemetry dictionary; the offset reaches storage.
    assert wait_until(lambda: 1.5 in stored(), 30.0, every_s=0.5)

    def journal() -> list[dict[str, Any]]:
        return list(_json(controlroom("journal", "--since", "10m", "--json")))

    assert wait_until(lambda: len(journal()) >= 2, 30.0, every_s=0.5)
    entries = {e["command"]: e for e in journal()}
    assert entries["set_offset"]["obsid"] == obsid
    assert entries["fail"]["outcome"] != "ok"
    assert controlroom("obs", "end").returncode == 0
