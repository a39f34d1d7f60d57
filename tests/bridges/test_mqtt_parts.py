"""The MQTT bridge's parts without a broker: relay, discovery configs, units, commands, config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlroom.bridges.mqtt import (
    Announcer,
    CommandDesk,
    MqttConfig,
    MqttError,
    StateRelay,
    TokenBucket,
    Units,
    load_units,
    sensor_config,
)
from controlroom.config.schema.mqtt import MqttBridgeSettings
from controlroom.config.settings import LOCAL_SETTINGS_ENV, load_settings
from controlroom.telemetry import parse_dictionary
from controlroom.testing.waiting import wait_until

Sent = tuple[str, str, int, bool]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def __call__(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        self.sent.append((topic, payload, qos, retain))

    def on(self, topic: str) -> list[str]:
        return [payload for t, payload, _, _ in self.sent if t == topic]


def config(**mqtt: Any) -> MqttConfig:
    return MqttConfig(mqtt=MqttBridgeSettings(**mqtt), site="LAB")


def test_values_are_retained_qos1_and_sent_only_when_they_change() -> None:
    outbox, clock = Outbox(), Clock()
    relay = StateRelay(config(min_interval_s=0), outbox, clock=clock)
    relay.take("hk", "dummy", 1.0, {"T": 20.5, "_limits": [{}], "_synoptics": {"SYN": 1}})
    relay.take("hk", "dummy", 2.0, {"T": 20.5})
    relay.take("status", "dummy", 3.0, {"T": 21.0, "events": 3})
    assert outbox.sent == [
        ("controlroom/LAB/dummy/T", "20.5", 1, True),
        ("controlroom/LAB/dummy/T", "21.0", 1, True),
    ]
    assert ("dummy", "events") in relay.skipped


def test_a_fast_parameter_is_held_back_and_its_latest_value_sent_later() -> None:
    outbox, clock = Outbox(), Clock()
    relay = StateRelay(config(min_interval_s=1.0), outbox, clock=clock)
    topic = "controlroom/LAB/dummy/T"
    relay.take("hk", "dummy", 0.0, {"T": 1})
    clock.now += 0.2
    relay.take("hk", "dummy", 0.0, {"T": 2})
    relay.take("hk", "dummy", 0.0, {"T": 3})
    relay.tick()
    assert outbox.on(topic) == ["1"]
    clock.now += 0.8
    relay.tick()
    assert outbox.on(topic) == ["1", "3"]
    relay.tick()
    assert outbox.on(topic) == ["1", "3"]


def test_a_value_back_to_what_was_sent_is_not_sent_again() -> None:
    outbox, clock = Outbox(), Clock()
    relay = StateRelay(config(min_interval_s=1.0), outbox, clock=clock)
    relay.take("hk", "dummy", 0.0, {"T": 1})
    relay.take("hk", "dummy", 0.0, {"T": 2})
    relay.take("hk", "dummy", 0.0, {"T": 1})
    clock.now += 5
    relay.tick()
    assert outbox.on("controlroom/LAB/dummy/T") == ["1"]


def test_republish_sends_every_latest_value_again() -> None:
    outbox, clock = Outbox(), Clock()
    relay = StateRelay(config(min_interval_s=1.0), outbox, clock=clock)
    relay.take("hk", "dummy", 0.0, {"T": 1, "U": "x"})
    relay.take("hk", "dummy", 0.0, {"T": 2})
    outbox.sent.clear()
    assert relay.republish() == 2
    assert sorted(outbox.sent) == [
        ("controlroom/LAB/dummy/T", "2", 1, True),
        ("controlroom/LAB/dummy/U", "x", 1, True),
    ]


def test_limit_events_go_to_the_events_topic_not_retained() -> None:
    outbox = Outbox()
    relay = StateRelay(config(), outbox)
    crossing = {"event": "limit", "parameter": "DUMMY_TEMP", "state": "entered_alarm"}
    relay.take("event", "dummy", 12.5, crossing)
    relay.take("event", "dummy", 13.0, {"event": "new_setup", "setup_id": 3})
    [(topic, payload, qos, retain)] = outbox.sent
    assert (topic, qos, retain) == ("controlroom/LAB/dummy/events", 1, False)
    assert json.loads(payload) == {"server": "dummy", "time": 12.5, **crossing}
    everything = StateRelay(config(events=["*"]), outbox)
    everything.take("event", "dummy", 13.0, {"event": "new_setup", "setup_id": 3})
    assert len(outbox.sent) == 2


def test_a_sensor_config_has_ids_topics_unit_device_and_availability() -> None:
    topics = config().topics
    got = sensor_config(topics, "dummy", "DUMMY_TEMP", unit="degC", numeric=True)
    assert got["unique_id"] == "controlroom_LAB_dummy_DUMMY_TEMP"
    assert got["name"] == "DUMMY_TEMP"
    assert got["state_topic"] == "controlroom/LAB/dummy/DUMMY_TEMP"
    assert got["unit_of_measurement"] == "degC"
    assert got["state_class"] == "measurement"
    assert got["device"]["identifiers"] == ["controlroom_LAB_dummy"]
    assert got["availability_mode"] == "all"
    assert [a["topic"] for a in got["availability"]] == [
        "controlroom/LAB/bridge/availability",
        "controlroom/LAB/dummy/availability",
    ]
    text = sensor_config(topics, "dummy", "mode")
    assert "unit_of_measurement" not in text
    assert "state_class" not in text


def test_each_parameter_is_announced_once_and_all_again_on_request() -> None:
    outbox = Outbox()
    units = Units({"DUMMY_TEMP": "degC"}, {})
    announcer = Announcer(config().topics, units, outbox)
    relay = StateRelay(config(min_interval_s=0), Outbox(), announcer)
    relay.take("hk", "dummy", 0.0, {"DUMMY_TEMP": 20.0, "mode": "idle"})
    relay.take("hk", "dummy", 0.0, {"DUMMY_TEMP": 21.0, "mode": "busy"})
    configs = [s for s in outbox.sent if s[0].endswith("/config")]
    assert len(configs) == 2
    assert all(qos == 1 and retain for _, _, qos, retain in configs)
    temp = json.loads(outbox.on("homeassistant/sensor/controlroom_LAB_dummy/DUMMY_TEMP/config")[0])
    assert temp["unit_of_measurement"] == "degC"
    assert announcer.announce_all() == 2
    assert len(outbox.sent) == 4


def test_units_come_from_the_dictionary_by_canonical_or_original_name() -> None:
    text = (
        "TM source,Storage mnemonic,Canonical name,Original name,Unit,Offset b,Slope a,"
        "MAX nonops,MIN nonops,MAX ops,MIN ops\n"
        "x,TEMPCTL,TEMPCTL_TEMP_A,temp_A,K,,,,,,\n"
        "x,TEMPCTL,TEMPCTL_HEATER,,%,,,,,,\n"
        "x,TEMPCTL,TEMPCTL_MODE,,,,,,,,\n"
    )
    units = Units.of(parse_dictionary(text, "units.csv"))
    assert units.unit("tempctl", "TEMPCTL_TEMP_A") == "K"
    assert units.unit("tempctl", "temp_A") == "K"
    assert units.unit("other", "temp_A") == ""
    assert units.unit("tempctl", "TEMPCTL_MODE") == ""


def test_the_shipped_dictionary_gives_units_and_a_missing_one_none(tmp_path: Any) -> None:
    assert load_units({}).unit("dummy", "DUMMY_TEMP") == "degC"
    missing = {"telemetry": {"dictionary": str(tmp_path / "nope.csv")}}
    assert len(load_units(missing)) == 0


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 3, clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]


@pytest.fixture
def desk_and_outbox() -> Iterator[tuple[CommandDesk, Outbox]]:
    outbox = Outbox()
    desk = CommandDesk(
        config(
            username="bridge",
            users={"ops": "operator"},
            allow={"dummy": ["set_offset"]},
            max_payload_bytes=64,
        ),
        outbox,
        lambda server: "",
    )
    yield desk, outbox
    desk.close()


def _result(outbox: Outbox, command: str = "set_offset", user: str = "ops") -> dict[str, Any]:
    found = outbox.on(f"controlroom/LAB/result/{user}/dummy/{command}")
    assert found, outbox.sent
    answer: dict[str, Any] = json.loads(found[-1])
    return answer


def test_refusals_are_answered_with_the_reason(desk_and_outbox: tuple[CommandDesk, Outbox]) -> None:
    desk, outbox = desk_and_outbox
    desk.handle("controlroom/LAB/set/ops/dummy/quit", b"")
    assert "not allowed for dummy (allowed: set_offset" in _result(outbox, "quit")["error"]
    desk.handle("controlroom/LAB/set/ops/dummy/set_offset", b"[1,", retained=False)
    assert "not valid JSON" in _result(outbox)["error"]
    desk.handle("controlroom/LAB/set/ops/dummy/set_offset", b"1" * 65)
    assert "over the limit of 64" in _result(outbox)["error"]
    desk.handle("controlroom/LAB/set/ops/dummy/set_offset", b"1", retained=True)
    assert "retained command is ignored" in _result(outbox)["error"]
    desk.handle("controlroom/LAB/set/eve/dummy/set_offset", b"1")
    assert _result(outbox, user="eve")["error"] == (
        "broker user 'eve' may not command: it is not in bridges.mqtt.users"
    )
    desk.handle("controlroom/LAB/dummy/set_offset/set", b"1")  # not a request topic: ignored
    assert len(outbox.sent) == 5
    desk.handle("controlroom/LAB/set/ops/dummy/set_offset", b"1")  # allowed, but nowhere
    assert wait_until(lambda: len(outbox.sent) == 6)
    assert "dummy not found" in _result(outbox)["error"]


def test_every_request_of_a_flood_gets_one_answer(caplog: pytest.LogCaptureFixture) -> None:
    outbox, clock = Outbox(), Clock()
    desk = CommandDesk(
        config(username="bridge", users={"ops": "viewer"}, commands_per_s=0.01, command_burst=2),
        outbox,
        lambda s: "",
        clock=clock,
    )
    try:
        with caplog.at_level("INFO", logger="controlroom.bridges.mqtt.commands"):
            for _ in range(50):
                desk.handle("controlroom/LAB/set/ops/dummy/quit", b"")
            clock.now += 100.0  # a token again: the run of refusals ends
            desk.handle("controlroom/LAB/set/ops/dummy/quit", b"")
        topic = "controlroom/LAB/result/ops/dummy/quit"
        answers = [json.loads(p)["error"] for p in outbox.on(topic)]
        assert len(answers) == 51
        assert answers[2:50] == ["rate limit: at most 0.01 commands per second"] * 48
        assert "not allowed" in answers[50]
        assert desk.rate_limited == 48
        rate_lines = [r.getMessage() for r in caplog.records if "rate" in r.getMessage()]
        assert len(rate_lines) == 2  # the first refusal, then the sum: not one line each
        assert rate_lines[-1] == "MQTT commands: 48 requests refused for their rate"
    finally:
        desk.close()


def test_the_settings_give_the_configuration(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOCAL_SETTINGS_ENV, raising=False)
    local = tmp_path / "local.yaml"
    local.write_text(
        "site: CSL\nbridges:\n  mqtt:\n    prefix: lab/cr\n    username: bridge\n"
        "    users: {ops: operator}\n    allow: {dummy: [set_offset]}\n"
    )
    cfg = MqttConfig.from_settings(load_settings(local), port=1884)
    assert cfg.topics.state("dummy", "T") == "lab/cr/CSL/dummy/T"
    assert cfg.broker == "127.0.0.1:1884"
    assert cfg.commands_enabled
    assert cfg.allowed("dummy") == {"set_offset"}
    assert cfg.allowed("tempctl") == frozenset()
    assert cfg.role_of("ops") == "operator" and cfg.role_of("bridge") is None
    assert "registry" in cfg.services
    assert not MqttConfig.from_settings(load_settings(None)).commands_enabled


@pytest.mark.parametrize("prefix", ["a/+/b", "x/#", "/lead", "trail/", "a//b", ""])
def test_a_prefix_with_wildcards_or_empty_levels_is_refused(prefix: str) -> None:
    with pytest.raises(MqttError, match=r"bridges\.mqtt\.prefix"):
        MqttConfig.from_settings({"bridges": {"mqtt": {"prefix": prefix}}})
