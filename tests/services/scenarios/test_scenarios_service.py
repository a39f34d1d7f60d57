"""The scenarios service end to end: a dummy sensor publishing HK, a stand-in configuration
manager, a storage manager on SQLite, all in this process on OS-chosen ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import scenario_actions
from scenarios_helpers import StandInConfman, scenarios_settings

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy, RemoteError
from controlroom.services.scenarios.service import Scenarios
from controlroom.services.storage.server import StorageManager
from controlroom.testing.waiting import wait_until

Confman = tuple[StandInConfman, ControlServer]
LOOPBACK = "tcp://127.0.0.1:0"
WARM = {"hk": "DUMMY_VALUE", "above": 0.0, "for_s": 30}  # the dummy reads about 20 °C


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def nothing_done_yet() -> Iterator[None]:
    while not scenario_actions.DONE.empty():
        scenario_actions.DONE.get_nowait()
    scenario_actions.RELEASE.clear()
    yield
    scenario_actions.RELEASE.set()  # a firing left waiting ends with the test


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer(
        "dummy",
        DeviceService(DummySensor()),
        endpoint=LOOPBACK,
        pub_endpoint=LOOPBACK,
        hk_period_s=0.02,
        status_period_s=1.0,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client() -> Iterator[Callable[[ControlServer], DeviceProxy]]:
    made: list[DeviceProxy] = []

    def make(server: ControlServer) -> DeviceProxy:
        made.append(make_proxy(Scenarios, server.endpoint, timeout=5.0))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def settings_with(confman: Confman, dummy: ControlServer, storage: str = LOOPBACK) -> Any:
    settings = scenarios_settings(
        confman[1].endpoint, storage={"commands": storage, "publish": LOOPBACK}
    )
    # The dummy is found as a device of the current Setup, at the Settings' endpoints.
    settings["devices"] = {"dummy": {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}}
    return settings


def rules_of(proxy: DeviceProxy) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in proxy.rules()}


def test_a_held_hk_condition_fires_a_building_block_journaled_with_its_obsid(
    confman: Confman,
    dummy: ControlServer,
    storage: ControlServer,
    start_scenarios: Callable[..., ControlServer],
    client: Callable[..., DeviceProxy],
) -> None:
    state, _ = confman
    rule = {"when": WARM, "run": "scenario_actions:cool_down", "args": {"kelvin": 80.0}}
    state.add(1, {"warm": rule}, devices={"dummy": {}})
    state.setup_id = 1
    clock = Clock()
    server = start_scenarios(
        settings_with(confman, dummy, storage.endpoint), clock=clock, storage=None
    )
    proxy = client(server)
    # Samples arrive and the hold runs, but 30 s have not passed on the service's clock.
    assert wait_until(lambda: rules_of(proxy).get("warm", {}).get("held_s") is not None, 10.0)
    assert rules_of(proxy)["warm"]["firings"] == 0
    clock.now = 30.0
    assert scenario_actions.DONE.get(timeout=10.0) == ("cool_down", {"kelvin": 80.0}, "LAB_00001")
    assert wait_until(lambda: proxy.firings(5) != [])
    [firing] = proxy.firings(5)
    assert firing["rule"] == "warm"
    assert firing["condition"] == "DUMMY_VALUE above 0.0 for 30 s"
    assert (firing["server"], firing["obsid"], firing["setup_id"]) == ("dummy", "LAB_00001", 1)
    assert (firing["outcome"], firing["error"]) == ("ok", None)
    assert firing["value"] > 0 and firing["duration_s"] >= 0
    assert state.calls == [
        ("start_observation", "scenario warm", "LAB_00001"),
        ("end_observation", "LAB_00001"),
    ]
    with make_proxy(StorageManager, storage.endpoint, timeout=5.0) as store:
        assert wait_until(lambda: store.journal(server="scenarios") != [], 10.0)
        [row] = store.journal(server="scenarios")
    assert (row["command"], row["obsid"], row["setup_id"], row["outcome"]) == (
        "warm",
        "LAB_00001",
        1,
        "ok",
    )
    assert '"run": "scenario_actions:cool_down"' in row["arguments"]


def test_a_plain_function_runs_in_the_running_observation_and_failures_are_journaled(
    confman: Confman,
    dummy: ControlServer,
    start_scenarios: Callable[..., ControlServer],
    client: Callable[..., DeviceProxy],
) -> None:
    state, _ = confman
    quick = {"hk": "DUMMY_VALUE", "above": 0.0}
    rules = {
        "note": {"when": quick, "run": "scenario_actions:record", "args": {"label": "warm"}},
        "broken": {"when": quick, "run": "scenario_actions:broken"},
    }
    state.add(1, rules, devices={"dummy": {}})
    state.setup_id = 1
    state.obsid = "LAB_00042"  # an operator's observation runs
    proxy = client(start_scenarios(settings_with(confman, dummy)))
    assert scenario_actions.DONE.get(timeout=10.0) == ("record", {"label": "warm"}, None)
    assert wait_until(lambda: len(proxy.firings(10)) == 2, 10.0)
    firings = {f["rule"]: f for f in proxy.firings(10)}
    assert (firings["note"]["obsid"], firings["note"]["outcome"]) == ("LAB_00042", "ok")
    assert firings["broken"]["error"] == "RuntimeError: the heater is unplugged"
    rules_now = rules_of(proxy)
    assert (rules_now["broken"]["failures"], rules_now["broken"]["last_outcome"]) == (1, "error")
    assert rules_now["note"]["firings"] == 1  # once per holding period


def test_an_event_fires_a_rule_and_the_firing_is_published(
    confman: Confman,
    dummy: ControlServer,
    start_scenarios: Callable[..., ControlServer],
    client: Callable[..., DeviceProxy],
) -> None:
    state, _ = confman
    rule = {
        "when": {"event": "interlock_open", "server": "dummy"},
        "run": "scenario_actions:record",
    }
    state.add(1, {"on_interlock": rule}, devices={"dummy": {}})
    state.setup_id = 1
    server = start_scenarios(settings_with(confman, dummy))
    proxy = client(server)
    assert wait_until(
        lambda: proxy.get_status() and proxy.get_status()["values"]["following"], 10.0
    )
    listener = ControlServer("listener", DeviceService(DummySensor()), endpoint=LOOPBACK)
    seen: list[dict[str, Any]] = []
    listener.on_event("*", seen.append)
    with listener:
        server.notifier.register(
            "listener", listener.endpoint, ["scenario_fired", "scenario_ended"]
        )
        # Published until the service's SUB socket has joined: a PUB drops what nobody takes.
        assert wait_until(
            lambda: (
                dummy.notify("interlock_open", {"state": "open"})
                or not scenario_actions.DONE.empty()
            ),
            10.0,
            every_s=0.05,
        )
        assert scenario_actions.DONE.get(timeout=5.0)[0] == "record"
        assert wait_until(
            lambda: {e.get("event") for e in seen} >= {"scenario_fired", "scenario_ended"}
        )
    fired = next(e["data"] for e in seen if e.get("event") == "scenario_fired")
    assert (fired["rule"], fired["server"]) == ("on_interlock", "dummy")
    assert fired["value"]["state"] == "open"


def test_a_running_rule_is_not_started_again(
    confman: Confman,
    dummy: ControlServer,
    start_scenarios: Callable[..., ControlServer],
    client: Callable[..., DeviceProxy],
) -> None:
    state, _ = confman
    rule = {"when": {"event": "tick"}, "run": "scenario_actions:wait_for_release"}
    state.add(1, {"slow": rule}, devices={"dummy": {}})
    state.setup_id = 1
    proxy = client(start_scenarios(settings_with(confman, dummy)))
    assert wait_until(
        lambda: dummy.notify("tick") or not scenario_actions.DONE.empty(), 10.0, every_s=0.05
    )
    assert scenario_actions.DONE.get(timeout=5.0)[0] == "wait_for_release"
    # Ticks go on while it runs: each is skipped.
    assert wait_until(
        lambda: dummy.notify("tick") or rules_of(proxy)["slow"]["skipped"] >= 3, 10.0, every_s=0.05
    )
    assert rules_of(proxy)["slow"]["running"] is True
    assert rules_of(proxy)["slow"]["firings"] == 1
    scenario_actions.RELEASE.set()
    assert wait_until(lambda: proxy.firings(5) != [])


def test_reload_keeps_the_rules_in_force_when_the_new_section_is_bad(
    confman: Confman,
    dummy: ControlServer,
    start_scenarios: Callable[..., ControlServer],
    client: Callable[..., DeviceProxy],
) -> None:
    state, server = confman
    good = {"when": {"event": "never"}, "run": "scenario_actions:record"}
    state.add(1, {"good": good})
    bad = {"when": {"hk": "X", "above": "hot"}, "run": "scenario_actions:record"}
    state.add(2, {"good": good, "bad": bad, "evil": {**good, "run": "os:system"}})
    state.add(3, {"other": good})
    state.setup_id = 1
    proxy = client(start_scenarios(follow_s=600.0))  # the event, not the follow, brings Setups
    assert wait_until(lambda: set(rules_of(proxy)) == {"good"})
    proxy.disable("good")
    assert wait_until(lambda: server.notifier.describe() != [])  # registered as a listener
    with Proxy(server.endpoint) as confman_client:
        confman_client.call("load_setup", 2)
        assert wait_until(lambda: proxy.get_status()["values"]["refused"] is not None)
        refused = proxy.get_status()["values"]["refused"]
        assert "scenarios.bad.when.above: must be a finite number, not 'hot'" in refused
        assert "scenarios.evil.run: 'os' is not in an allowed package" in refused
        assert set(rules_of(proxy)) == {"good"}  # still in force
        assert rules_of(proxy)["good"]["enabled"] is False
        with pytest.raises(RemoteError, match=r"Setup 2: .*the rules in force stay"):
            proxy.reload()
        confman_client.call("load_setup", 3)
        assert wait_until(lambda: set(rules_of(proxy)) == {"other"})
    assert proxy.reload() == {"setup_id": 3, "rules": ["other"], "refused": None}
    with pytest.raises(RemoteError, match="no rule 'good'"):
        proxy.enable("good")
