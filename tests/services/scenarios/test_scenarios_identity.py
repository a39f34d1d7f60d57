"""A firing commands as ``scenarios:<rule>`` with the service's role, checked at every server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import scenario_actions
from scenarios_helpers import LOOPBACK, StandInConfman, scenarios_settings

from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.hooks import CommandRecord
from controlroom.services.scenarios.service import Scenarios
from controlroom.testing.waiting import wait_until

Confman = tuple[StandInConfman, ControlServer]


@pytest.fixture(autouse=True)
def nothing_done_yet() -> None:
    while not scenario_actions.DONE.empty():
        scenario_actions.DONE.get_nowait()


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    """A dummy sensor publishing HK (about 20 °C), its journal as ``dummy.journal``."""
    server = ControlServer(
        "dummy",
        DeviceService(DummySensor()),
        endpoint=LOOPBACK,
        pub_endpoint=LOOPBACK,
        hk_period_s=0.02,
    )
    journal: list[CommandRecord] = []
    server.hooks.command_observers.append(journal.append)
    server.journal = journal  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def _fire_once(
    confman: Confman, dummy: ControlServer, start: Callable[..., ControlServer], role: str | None
) -> dict[str, Any]:
    """A rule that commands the dummy when it reads warm; its first firing once it ended."""
    state, _ = confman
    rule = {
        "when": {"hk": "DUMMY_VALUE", "above": 0.0},
        "run": "scenario_actions:set_offset_of",
        "args": {"endpoint": dummy.endpoint, "offset": 1.5},
        "cooldown_s": 3600,
    }
    state.add(1, {"warm": rule}, devices={"dummy": {}})
    state.setup_id = 1
    settings = scenarios_settings(confman[1].endpoint)
    settings["devices"] = {"dummy": {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}}
    if role is not None:
        settings["services"]["scenarios"]["role"] = role
    with make_proxy(Scenarios, start(settings).endpoint, timeout=5.0) as scenarios:
        assert wait_until(lambda: scenarios.firings(5) != [], 10.0)
        return dict(scenarios.firings(5)[0])


def _journal(dummy: ControlServer) -> list[tuple[str, str, bool]]:
    records: list[CommandRecord] = dummy.journal  # type: ignore[attr-defined]
    return [(r.command, r.caller, r.ok) for r in records if r.command == "set_offset"]


def test_a_rules_command_is_journaled_as_the_rule(
    confman: Confman, dummy: ControlServer, start_scenarios: Callable[..., ControlServer]
) -> None:
    firing = _fire_once(confman, dummy, start_scenarios, None)
    assert firing["outcome"] == "ok", firing
    assert _journal(dummy) == [("set_offset", "scenarios:warm via scenarios (key anonymous)", True)]


def test_the_rules_role_comes_from_the_settings_and_the_server_checks_it(
    confman: Confman, dummy: ControlServer, start_scenarios: Callable[..., ControlServer]
) -> None:
    firing = _fire_once(confman, dummy, start_scenarios, "viewer")
    assert firing["outcome"] == "error"
    assert "scenarios:warm via scenarios (key anonymous) (viewer)" in firing["error"]
    assert "needs the operator role" in firing["error"]
    assert _journal(dummy) == [
        ("set_offset", "scenarios:warm via scenarios (key anonymous)", False)
    ]
