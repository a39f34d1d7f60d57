"""The MQTT bridge against the local Mosquitto and a real in-process dummy control server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mqtt_broker import BROKER_HOST, BROKER_PORT, Listener, clear_retained, require_broker, unique

from controlroom.bridges.mqtt import MqttBridge, MqttConfig, load_units
from controlroom.config.schema.mqtt import MqttBridgeSettings
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.hooks import CommandRecord
from controlroom.telemetry import attach_telemetry, shipped_dictionary
from controlroom.testing.waiting import wait_until

SITE = "LAB"
USERS = {"ops": "operator", "watcher": "viewer"}  # broker users and their roles
MakeBridge = Callable[..., MqttBridge]


@dataclass(frozen=True)
class Names:
    """A test's own prefixes: no other test sees its retained messages."""

    prefix: str
    discovery: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{SITE}"

    @property
    def filters(self) -> list[str]:
        return [f"{self.prefix}/#", f"{self.discovery}/#"]


@pytest.fixture
def names() -> Iterator[Names]:
    require_broker()
    chosen = Names(unique("cr-test"), unique("ha-test"))
    yield chosen
    clear_retained(chosen.filters)


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer(
        "dummy", DeviceService(DummySensor()), hk_period_s=0.1, status_period_s=0.1
    )
    attach_telemetry(server, shipped_dictionary(), site=SITE)
    server.start()
    yield server
    server.stop()


def endpoints(server: ControlServer) -> dict[str, str]:
    return {"commands": server.endpoint, "publish": server.pub_endpoint}


@pytest.fixture
def make_bridge(names: Names, dummy: ControlServer) -> Iterator[MakeBridge]:
    """Bridges following ``dummy`` under the test's prefixes; all stopped at the end."""
    started: list[MqttBridge] = []

    def make(*, services: dict[str, Any] | None = None, **mqtt: Any) -> MqttBridge:
        settings = {
            "host": BROKER_HOST,
            "port": BROKER_PORT,
            "prefix": names.prefix,
            "discovery_prefix": names.discovery,
            "client_id": unique("bridge"),
            "min_interval_s": 0.0,
            "refresh_s": 0.2,
            "ping_timeout_s": 0.5,
            **mqtt,
        }
        config = MqttConfig(
            mqtt=MqttBridgeSettings(**settings),
            site=SITE,
            services=services or {},
            extra={} if services else {"dummy": endpoints(dummy)},
        )
        bridge = MqttBridge(config, units=load_units({}))
        started.append(bridge)
        return bridge.start()

    yield make
    for bridge in started:
        bridge.stop()


def test_hk_values_appear_retained_under_the_topic_scheme(
    names: Names, make_bridge: MakeBridge
) -> None:
    with Listener(names.filters) as listener:
        make_bridge()
        assert listener.wait_for(f"{names.base}/bridge/availability") == "online"
        assert listener.wait_for(f"{names.base}/dummy/availability") == "online"
        assert 15.0 < float(listener.wait_for(f"{names.base}/dummy/DUMMY_TEMP")) < 25.0
        assert float(listener.wait_for(f"{names.base}/dummy/DUMMY_OFFSET")) == 0.0
        assert float(listener.wait_for(f"{names.base}/dummy/value")) > 0  # from status
    with Listener([f"{names.base}/dummy/+"]) as latecomer:  # retained: a new subscriber gets it
        latecomer.wait_for(f"{names.base}/dummy/DUMMY_TEMP")
        last = latecomer.last(f"{names.base}/dummy/DUMMY_TEMP")
        assert last is not None and last.retain
        assert not [t for t in latecomer.topics() if t.endswith("_limits")]


def test_limit_events_are_published_on_the_events_topic(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    with Listener(names.filters) as listener:
        make_bridge()
        listener.wait_for(f"{names.base}/dummy/DUMMY_TEMP")
        with Proxy(dummy.endpoint) as proxy:
            proxy.call("set_offset", 30.0)  # about 50 degC: above both of DUMMY_TEMP's bands
        event = json.loads(listener.wait_for(f"{names.base}/dummy/events"))
        assert event["event"] == "limit"
        assert event["parameter"] == "DUMMY_TEMP"
        assert event["server"] == "dummy"
        assert event["state"] == "entered_alarm"
        assert not any(m.retain for m in listener.on(f"{names.base}/dummy/events"))


def test_discovery_configs_are_sent_and_sent_again_when_home_assistant_is_online(
    names: Names, make_bridge: MakeBridge
) -> None:
    config_topic = f"{names.discovery}/sensor/{names.prefix}_{SITE}_dummy/DUMMY_TEMP/config"
    with Listener(names.filters) as listener:
        make_bridge()
        config = json.loads(listener.wait_for(config_topic))
        assert config["unique_id"] == f"{names.prefix}_{SITE}_dummy_DUMMY_TEMP"
        assert config["state_topic"] == f"{names.base}/dummy/DUMMY_TEMP"
        assert config["unit_of_measurement"] == "degC"
        assert config["device"]["identifiers"] == [f"{names.prefix}_{SITE}_dummy"]
        assert f"{names.base}/bridge/availability" in [a["topic"] for a in config["availability"]]
        sent = len(listener.on(config_topic))
        listener.publish(f"{names.discovery}/status", "online")
        assert wait_until(lambda: len(listener.on(config_topic)) > sent, 10.0)


def test_an_allowed_command_runs_and_its_result_is_published(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    bridge = make_bridge(
        username="controlroom-test",
        users=USERS,
        allow={"dummy": ["set_offset", "get_offset"]},
    )
    assert bridge.subscribed.wait(10.0)
    result = f"{names.base}/result/ops/dummy/set_offset"
    with Listener([f"{names.base}/result/#"]) as listener, Proxy(dummy.endpoint) as proxy:
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", "7.5")
        answer = json.loads(listener.wait_for(result))
        assert answer == {"server": "dummy", "command": "set_offset", "ok": True, "value": None}
        assert proxy.call("get_offset") == 7.5
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", '{"offset": -1.5}')
        assert wait_until(lambda: len(listener.on(result)) == 2, 10.0)
        assert proxy.call("get_offset") == -1.5
        listener.publish(f"{names.base}/set/ops/dummy/get_offset", "")
        got = json.loads(listener.wait_for(f"{names.base}/result/ops/dummy/get_offset"))
        assert got["value"] == -1.5
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", "1000")  # out of its range
        assert wait_until(lambda: len(listener.on(result)) == 3, 10.0)
        refused = json.loads(listener.on(result)[-1].text)
        assert refused["ok"] is False and "1000" in refused["error"]
        assert not any(m.retain for m in listener.messages)


def test_each_command_runs_as_its_broker_user_with_that_users_role(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    journal: list[CommandRecord] = []
    dummy.hooks.command_observers.append(journal.append)
    bridge = make_bridge(username="controlroom-test", users=USERS, allow={"dummy": ["set_offset"]})
    assert bridge.subscribed.wait(10.0)
    with Listener([f"{names.base}/result/#"]) as listener:
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", "2.5")
        ran = json.loads(listener.wait_for(f"{names.base}/result/ops/dummy/set_offset"))
        listener.publish(f"{names.base}/set/watcher/dummy/set_offset", "3.5")
        refused = json.loads(listener.wait_for(f"{names.base}/result/watcher/dummy/set_offset"))
        listener.publish(f"{names.base}/set/stranger/dummy/set_offset", "4.5")
        unlisted = json.loads(listener.wait_for(f"{names.base}/result/stranger/dummy/set_offset"))
    assert ran["ok"] is True
    assert refused["error"].startswith("Forbidden: watcher via mqtt (key anonymous) (viewer)")
    assert refused["error"].endswith("it needs the operator role")
    assert unlisted["error"] == (
        "broker user 'stranger' may not command: it is not in bridges.mqtt.users"
    )
    assert [(r.command, r.caller, r.ok) for r in journal] == [
        ("set_offset", "ops via mqtt (key anonymous)", True),
        ("set_offset", "watcher via mqtt (key anonymous)", False),
    ]


def test_a_command_not_allowed_or_malformed_gets_an_error_result(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    bridge = make_bridge(username="controlroom-test", users=USERS, allow={"dummy": ["set_offset"]})
    assert bridge.subscribed.wait(10.0)
    with Listener([f"{names.base}/result/#"]) as listener:
        listener.publish(f"{names.base}/set/ops/dummy/quit", "")
        quit_answer = json.loads(listener.wait_for(f"{names.base}/result/ops/dummy/quit"))
        assert quit_answer["ok"] is False
        assert "'quit' is not allowed for dummy" in quit_answer["error"]
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", "[1,")
        bad = json.loads(listener.wait_for(f"{names.base}/result/ops/dummy/set_offset"))
        assert "not valid JSON" in bad["error"]
    with Proxy(dummy.endpoint) as proxy:
        assert proxy.ping() == "pong"
        assert proxy.call("get_offset") == 0.0
    assert bridge.connected


def test_every_request_over_the_rate_limit_gets_its_own_error_result(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    # A rate so low that no token comes back during the test: exactly the burst is run.
    burst, requests = 3, 189
    bridge = make_bridge(
        username="controlroom-test",
        users=USERS,
        allow={"dummy": ["set_offset"]},
        commands_per_s=0.001,
        command_burst=burst,
    )
    assert bridge.subscribed.wait(10.0)
    # Requests for a server the bridge has not found yet are answered "not found"; the
    # burst must go to commands that run.
    assert wait_until(lambda: bridge.watcher.endpoint_of("dummy") != "", 10.0)
    result = f"{names.base}/result/ops/dummy/set_offset"
    with Listener([f"{names.base}/result/#"]) as listener:
        for n in range(requests):
            listener.publish(f"{names.base}/set/ops/dummy/set_offset", f"{n % 5}")
        assert wait_until(lambda: len(listener.on(result)) >= requests, 20.0), len(
            listener.on(result)
        )
        # A last request on another topic: its answer comes after any stray extra one.
        listener.publish(f"{names.base}/set/ops/dummy/get_offset", "")
        listener.wait_for(f"{names.base}/result/ops/dummy/get_offset")
        answers = [json.loads(m.text) for m in listener.on(result)]
    assert len(answers) == requests
    ran = [a for a in answers if a["ok"]]
    limited = [a for a in answers if not a["ok"]]
    assert len(ran) == burst
    assert len(limited) == requests - burst
    assert all(a["error"] == "rate limit: at most 0.001 commands per second" for a in limited)
    assert bridge.desk is not None and bridge.desk.rate_limited == requests - burst + 1


def test_without_credentials_no_command_topic_is_subscribed(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    # Mosquitto here takes anonymous logins; with a username set (test above) the same
    # broker takes commands. Without one the bridge must not even listen.
    config_topic = f"{names.discovery}/sensor/{names.prefix}_{SITE}_dummy/DUMMY_TEMP/config"
    with Listener(names.filters) as listener:
        bridge = make_bridge(users=USERS, allow={"dummy": ["set_offset"]})
        assert bridge.subscriptions == [f"{names.discovery}/status"]
        assert bridge.desk is None
        assert bridge.subscribed.wait(10.0)
        listener.wait_for(config_topic)
        listener.publish(f"{names.base}/set/ops/dummy/set_offset", "9")
        # The bridge handles its messages in order: once it answered this one, it had the
        # chance to take the command, had it been subscribed.
        sent = len(listener.on(config_topic))
        listener.publish(f"{names.discovery}/status", "online")
        assert wait_until(lambda: len(listener.on(config_topic)) > sent, 10.0)
        assert not [t for t in listener.topics() if t.startswith(f"{names.base}/result/")]
    with Proxy(dummy.endpoint) as proxy:
        assert proxy.call("get_offset") == 0.0


def test_servers_are_found_in_the_registry_and_go_offline_when_they_stop(
    names: Names, make_bridge: MakeBridge, dummy: ControlServer
) -> None:
    from controlroom.config.settings import load_settings
    from controlroom.services.registry.server import build_server

    any_port = "tcp://127.0.0.1:0"
    registry = build_server(load_settings(None), endpoint=any_port, pub_endpoint=any_port)
    registry.start()
    try:
        with Proxy(registry.endpoint) as proxy:
            proxy.request("register", ("dummy", endpoints(dummy)))
        with Listener(names.filters) as listener:
            make_bridge(services={"registry": endpoints(registry)})
            assert listener.wait_for(f"{names.base}/registry/availability") == "online"
            assert listener.wait_for(f"{names.base}/dummy/availability") == "online"
            listener.wait_for(f"{names.base}/dummy/DUMMY_TEMP")
            listener.wait_for(f"{names.base}/registry/services")  # the registry's own HK
            dummy.stop()
            assert listener.wait_for(f"{names.base}/dummy/availability", "offline") == "offline"
    finally:
        registry.stop()
