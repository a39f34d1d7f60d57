"""The MQTT bridge's topic scheme and payloads: pure functions, no broker."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from controlroom.bridges.mqtt import PayloadError, Topics, encode_value, parse_arguments
from controlroom.bridges.mqtt.payloads import result_payload, to_json
from controlroom.bridges.mqtt.topics import Request, level, slug

TOPICS = Topics("controlroom", "LAB", "homeassistant")


def test_values_availability_and_events_live_under_prefix_and_site() -> None:
    assert TOPICS.state("dummy", "DUMMY_TEMP") == "controlroom/LAB/dummy/DUMMY_TEMP"
    assert TOPICS.events("tempctl") == "controlroom/LAB/tempctl/events"
    assert TOPICS.availability("dummy") == "controlroom/LAB/dummy/availability"
    assert TOPICS.bridge_availability == "controlroom/LAB/bridge/availability"
    assert TOPICS.command_filter == "controlroom/LAB/set/+/+/+"
    assert (
        TOPICS.request("ops", "dummy", "set_offset") == "controlroom/LAB/set/ops/dummy/set_offset"
    )
    assert (
        TOPICS.result("ops", "dummy", "set_offset") == "controlroom/LAB/result/ops/dummy/set_offset"
    )
    assert TOPICS.homeassistant_status == "homeassistant/status"


def test_a_prefix_may_have_several_levels() -> None:
    topics = Topics("lab/b12/controlroom", "CSL")
    assert topics.state("psu", "V1") == "lab/b12/controlroom/CSL/psu/V1"
    assert topics.parse_set("lab/b12/controlroom/CSL/set/ops/psu/apply") == Request(
        "ops", "psu", "apply"
    )


@pytest.mark.parametrize(
    ("name", "expected"), [("a/b", "a_b"), ("x+y", "x_y"), ("#", "_"), ("", "_"), ("T A", "T A")]
)
def test_a_name_becomes_one_topic_level_without_wildcards(name: str, expected: str) -> None:
    assert level(name) == expected


def test_home_assistant_ids_keep_letters_digits_underscore_and_dash() -> None:
    assert slug("controlroom/x_LAB.1 dummy-2") == "controlroom_x_LAB_1_dummy-2"
    assert TOPICS.node_id("dummy") == "controlroom_LAB_dummy"
    assert (
        TOPICS.sensor_config("dummy", "temp.A")
        == "homeassistant/sensor/controlroom_LAB_dummy/temp_A/config"
    )


@pytest.mark.parametrize(
    "topic",
    [
        "controlroom/LAB/result/ops/dummy/set_offset",
        "controlroom/LAB/dummy/set_offset/set",  # the layout without the user: not taken
        "controlroom/LAB/set/ops/dummy",
        "controlroom/LAB/set/ops/dummy/a/b",
        "other/LAB/set/ops/dummy/set_offset",
        "controlroom/LAB/set//dummy/set_offset",
        "controlroom/LAB/set/ops//set_offset",
        "controlroom/LABX/set/ops/dummy/set_offset",
    ],
)
def test_only_command_request_topics_parse(topic: str) -> None:
    assert TOPICS.parse_set(topic) is None


def test_a_command_request_topic_names_the_broker_user_server_and_command() -> None:
    request = TOPICS.parse_set("controlroom/LAB/set/ops/dummy/set_offset")
    assert request == Request("ops", "dummy", "set_offset")
    assert TOPICS.parse_set(TOPICS.request("a/b", "dummy", "x")) == Request("a_b", "dummy", "x")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (21.5, "21.5"),
        (3, "3"),
        (np.float64(0.25), "0.25"),
        (np.int32(7), "7"),
        (True, "true"),
        (False, "false"),
        ("idle", "idle"),
        ("", '""'),
        (None, "null"),
        ({"a": [1, 2.5]}, '{"a":[1,2.5]}'),
        ([1, "x"], '[1,"x"]'),
        (b"\x01\xff", '"01ff"'),
        (np.array([1.0, 2.0]), "[1.0,2.0]"),
        (math.nan, "nan"),
    ],
)
def test_numbers_are_plain_text_and_structures_json(value: object, text: str) -> None:
    assert encode_value(value) == text


def test_json_never_holds_nan() -> None:
    assert json.loads(to_json({"v": math.inf})) == {"v": "inf"}


@pytest.mark.parametrize(
    ("payload", "args", "kwargs"),
    [
        (b"", (), {}),
        (b"  ", (), {}),
        (b"5", (5,), {}),
        (b"-2.5", (-2.5,), {}),
        (b"true", (True,), {}),
        (b'"two words"', ("two words",), {}),
        (b"idle", ("idle",), {}),
        (b"two words", ("two words",), {}),
        (b"[1, 2.5, null]", (1, 2.5, None), {}),
        (b'{"offset": 3}', (), {"offset": 3}),
    ],
)
def test_payloads_give_arguments(
    payload: bytes, args: tuple[object], kwargs: dict[str, object]
) -> None:
    assert parse_arguments(payload, 4096) == (args, kwargs)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[1, 2", "not valid JSON"),
        (b'{"offset": }', "not valid JSON"),
        (b'{"not a name": 1}', "identifiers"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x" * 5000, "over the limit of 4096"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_arguments(payload, 4096)


def test_a_result_says_ok_and_value_or_the_error() -> None:
    assert json.loads(result_payload("dummy", "get_offset", value=2.0)) == {
        "server": "dummy",
        "command": "get_offset",
        "ok": True,
        "value": 2.0,
    }
    failed = json.loads(result_payload("dummy", "fail", error="DummyFault: boom"))
    assert failed["ok"] is False
    assert failed["error"] == "DummyFault: boom"
    assert "value" not in failed
