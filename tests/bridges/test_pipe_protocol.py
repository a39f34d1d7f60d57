"""The pipe protocol as text, without sockets: request lines, reply lines, configuration."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import numpy as np
import pytest

from controlroom.bridges.pipe import PipeConfig, PipeError, RequestRefused
from controlroom.bridges.pipe.config import allow_list, is_loopback
from controlroom.bridges.pipe.protocol import (
    DeviceRequest,
    PingRequest,
    TokenRequest,
    decode_line,
    err_line,
    ok_line,
    parse_request,
)
from controlroom.config.schema.settings import problems
from controlroom.config.settings import LOCAL_SETTINGS_ENV, Settings, load_settings


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The packaged Settings alone, whatever the environment names."""
    monkeypatch.delenv(LOCAL_SETTINGS_ENV, raising=False)
    return load_settings(None)


class Mode(enum.Enum):
    OFF = "off"
    ON = "on"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tempctl|set_setpoint 1 120", DeviceRequest("tempctl", "set_setpoint", ("1", "120"))),
        ("dummy|read_value", DeviceRequest("dummy", "read_value", ())),
        (
            " dummy | echo 'a b' \"c d\" e\\ f",
            DeviceRequest("dummy", "echo", ("a b", "c d", "e f")),
        ),
        (
            "dummy|echo x=1 # not a comment",
            DeviceRequest("dummy", "echo", ("x=1", "#", "not", "a", "comment")),
        ),
        ("dummy|echo a|b", DeviceRequest("dummy", "echo", ("a|b",))),
        ("dummy|echo $(rm -rf /)", DeviceRequest("dummy", "echo", ("$(rm", "-rf", "/)"))),
        ("TOKEN abc def", TokenRequest("abc def")),
        ("token xyz", TokenRequest("xyz")),
        ("ping", PingRequest()),
    ],
)
def test_request_lines(line: str, expected: Any) -> None:
    assert parse_request(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("read_value", "expected Device|command arg ..., got 'read_value'"),
        ("|read_value", "no device name before '|'"),
        ("dummy|  ", "no command after 'dummy|'"),
        ('dummy|echo "open', "bad quoting: no closing quotation"),
    ],
)
def test_malformed_request_lines(line: str, message: str) -> None:
    with pytest.raises(RequestRefused) as caught:
        parse_request(line)
    assert str(caught.value) == message


def test_received_bytes_must_be_text() -> None:
    assert decode_line(b"  dummy|read_value\r\n") == "dummy|read_value"
    assert decode_line("dummy|echo 20°C\n".encode()) == "dummy|echo 20°C"
    with pytest.raises(RequestRefused, match="not UTF-8"):
        decode_line(b"\xc3\x28\n")
    with pytest.raises(RequestRefused, match="control characters"):
        decode_line(b"dummy|echo \x1b[2J\n")


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (None, "OK"),
        (True, "OK true"),
        (3, "OK 3"),
        (120.0, "OK 120.0"),
        (float("nan"), "OK nan"),
        (float("-inf"), "OK -inf"),
        ("Model 336", "OK Model 336"),
        ("", 'OK ""'),
        ("two\nlines", 'OK "two\\nlines"'),
        (" padded", 'OK " padded"'),
        ([1.5, 2], "OK [1.5,2]"),
        ({"mode": Mode.ON, "on": True}, 'OK {"mode":"on","on":true}'),
        (Mode.OFF, "OK off"),
        (np.arange(3), "OK [0,1,2]"),
        (np.float32(0.5), "OK 0.5"),
        (dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), "OK 2024-05-01T12:00:00+00:00"),
    ],
)
def test_reply_lines(value: Any, line: str) -> None:
    assert ok_line(value) == line


def test_error_lines_stay_one_short_line() -> None:
    assert err_line("first\nsecond\r\n  third") == "ERR first second third"
    assert len(err_line("x" * 5000)) < 1100
    assert err_line("") == "ERR failed"


def test_configuration_from_the_packaged_settings(packaged: Settings) -> None:
    config = PipeConfig.from_settings(packaged, port=0)
    assert (config.host, config.port, config.token) == ("127.0.0.1", 0, "")
    assert "read_value" in config.allow["dummy"]
    assert config.registry_endpoint == "tcp://127.0.0.1:6030"
    assert config.fallback["dummy"]["commands"] == "tcp://127.0.0.1:6710"


def test_the_settings_section_is_checked(packaged: Settings) -> None:
    base = packaged.to_dict()
    base["bridges"] = {"pipe": {"alow": {}, "allow": {"dummy": ["read value"]}}}
    found = {".".join(map(str, p.path)): p.message for p in problems(base)}
    assert "unknown key" in found["bridges.pipe.alow"]
    assert "not a command name" in found["bridges.pipe.allow.dummy.0"]


def test_allow_lists_and_addresses() -> None:
    assert allow_list({"dummy": ["read_value"]}) == {"dummy": frozenset({"read_value"})}
    with pytest.raises(PipeError, match="expected a list of command names"):
        allow_list({"dummy": "read_value"})
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("lab-host")
    with pytest.raises(PipeError, match="token"):
        PipeConfig(host="lab-host").check()
    PipeConfig(host="lab-host", token="t").check()
