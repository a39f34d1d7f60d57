"""``controlroom scenarios``: the observation runner, and start / rules / firings / stop."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scenario_actions
import yaml
from scenarios_helpers import StandInConfman
from typer.testing import CliRunner

from controlroom.cli.main import app
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.processes.jobs import run_in_observation
from controlroom.rpc import ControlServer
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

Confman = tuple[StandInConfman, ControlServer]
LOOPBACK = "tcp://127.0.0.1:0"


@pytest.fixture(autouse=True)
def nothing_done_yet() -> None:
    while not scenario_actions.DONE.empty():
        scenario_actions.DONE.get_nowait()


def test_a_task_gets_its_arguments_coerced_and_runs_without_an_observation(
    confman: Confman,
) -> None:
    endpoint = confman[1].endpoint
    kwargs = {"mode": "FAST", "repeat": "3"}
    assert (
        run_in_observation(
            scenario_actions.set_mode,
            kwargs,
            observation=None,
            confman=endpoint,
            default_observation="scenario r",
        )
        is None
    )
    done = scenario_actions.DONE.get_nowait()
    assert done == ("set_mode", {"mode": scenario_actions.Mode.FAST, "repeat": 3}, None)


def test_a_building_block_runs_in_an_observation_named_after_the_rule(confman: Confman) -> None:
    state, server = confman
    block = scenario_actions.cool_down
    obsid = run_in_observation(
        block,
        {"kelvin": 80.0},
        observation=None,
        confman=server.endpoint,
        default_observation="scenario cold",
    )
    assert obsid == "LAB_00001"
    assert state.calls[0] == ("start_observation", "scenario cold", "LAB_00001")
    described = run_in_observation(
        scenario_actions.record,
        {},
        observation="Noted",
        confman=server.endpoint,
        default_observation="scenario r",
    )
    assert described == "LAB_00002"
    assert scenario_actions.DONE.get_nowait()[2] == "LAB_00001"
    assert scenario_actions.DONE.get_nowait() == ("record", {"label": "fired"}, "LAB_00002")


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    sensor = DeviceService(DummySensor())
    server = ControlServer(
        "dummy", sensor, endpoint=LOOPBACK, pub_endpoint=LOOPBACK, hk_period_s=0.05
    )
    server.start()
    yield server
    server.stop()


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


def test_start_rules_firings_stop(
    confman: Confman,
    dummy: ControlServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, server = confman
    rule = {"when": {"hk": "DUMMY_VALUE", "above": 0.0}, "run": "scenario_actions:record"}
    state.add(7, {"warm": {**rule, "args": {"label": "cli"}}}, devices={"dummy": {}})
    state.setup_id, state.obsid = 7, "LAB_00042"
    services: dict[str, Any] = {
        name: {"commands": _free(), "publish": _free()}
        for name in ("registry", "logman", "storage", "scenarios")
    }
    services["logman"]["records"] = _free()
    services["confman"] = {"commands": server.endpoint, "publish": _free()}
    services["scenarios"]["allowed_packages"] = ["scenario_actions"]
    local = {
        "services": services,
        "locations": {name: str(tmp_path / name) for name in ("conf_repo", "data", "state")},
        "devices": {"dummy": {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}},
    }
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(tmp_path / "local.yaml"))
    # The child imports the test actions as a user's package is imported: from its path.
    here = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )
    runner = CliRunner(env={"COLUMNS": "200"})
    started = runner.invoke(app, ["scenarios", "start"])
    try:
        assert started.exit_code == 0, started.output
        assert "scenarios service started" in started.output
        firings = _firings_when_there(runner)
        assert (firings[0]["rule"], firings[0]["obsid"], firings[0]["outcome"]) == (
            "warm",
            "LAB_00042",
            "ok",
        )
        table = runner.invoke(app, ["scenarios", "firings"])
        assert "warm" in table.output and "LAB_00042" in table.output
        rules = runner.invoke(app, ["scenarios", "rules"])
        assert rules.exit_code == 0, rules.output
        assert "DUMMY_VALUE above 0.0" in rules.output and "scenario_actions:record" in rules.output
    finally:
        stopped = runner.invoke(app, ["scenarios", "stop"])
    assert "scenarios service stopped" in stopped.output


def _firings_when_there(runner: CliRunner) -> list[dict[str, Any]]:
    found: list[list[dict[str, Any]]] = []

    def fired() -> bool:
        result = runner.invoke(app, ["scenarios", "firings", "--json"])
        entries = json.loads(result.output) if result.exit_code == 0 else []
        found.append(entries)
        return bool(entries)

    assert wait_until(fired, 20.0, every_s=0.1), found[-1]
    return found[-1]
