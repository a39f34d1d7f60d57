"""The node line grammar and the parser registry: good lines, and bad ones named."""

from __future__ import annotations

import logging

import pytest

from controlroom.bridges.nodes import (
    Field,
    FieldParser,
    LineError,
    NodeBridgeError,
    ParserRegistry,
    default_parsers,
    parse_line,
)
from controlroom.bridges.nodes.grammar import Data, Heartbeat, Hello, LogLine, Status, scalar


def test_hello_folds_the_id_and_type_and_reads_details() -> None:
    line = parse_line("HELLO FEDM-01 Fedm fw=2.1 serial=A17")
    assert line == Hello("fedm-01", "fedm", {"fw": 2.1, "serial": "A17"})


def test_each_kind_of_line() -> None:
    assert parse_line("hb 12.5") == Heartbeat(12.5)
    assert parse_line("STATUS hv=1250 temp_c=31.5 mode=run") == Status(
        {"hv": 1250, "temp_c": 31.5, "mode": "run"}
    )
    assert parse_line("LOG warning HV   drifting  high") == LogLine(
        logging.WARNING, "HV   drifting  high"
    )
    assert parse_line("DATA pulse 1700000000000000000 3 12\r") == Data(
        "PULSE", 1_700_000_000_000_000_000, ["3", "12"]
    )


def test_empty_lines_are_nothing() -> None:
    assert parse_line("") is None
    assert parse_line("   ") is None


def test_scalars_are_int_float_or_text() -> None:
    assert scalar("12") == 12
    assert scalar("1.5e3") == 1500.0
    assert scalar("nan") == "nan"  # not a finite number: kept as written
    assert scalar("on") == "on"
    assert scalar(str(2**63 - 1)) == 2**63 - 1
    assert scalar(str(2**63)) == str(2**63)  # wider than storage takes: kept as written
    assert scalar(str(-(2**63) - 1)) == str(-(2**63) - 1)


def test_a_time_beyond_64_bits_is_malformed() -> None:
    with pytest.raises(LineError, match="is beyond 64-bit nanoseconds"):
        parse_line(f"DATA PULSE {2**63} 1 12")
    assert parse_line(f"DATA PULSE {2**63 - 1} 1 12") == Data("PULSE", 2**63 - 1, ["1", "12"])


@pytest.mark.parametrize(
    ("node_type", "text", "reason"),
    [
        ("ctu", f"DATA TICK 1 {2**63} 0", "seq '9223372036854775808' is beyond a 64-bit integer"),
        ("fedm", "DATA PULSE 1 1 12 inf", "amplitude_mv 'inf' is not a finite number"),
        ("fedm", "DATA PULSE 1 1 12 nan", "amplitude_mv 'nan' is not a finite number"),
    ],
)
def test_fields_storage_cannot_take_are_malformed(node_type: str, text: str, reason: str) -> None:
    data = parse_line(text)
    parser = default_parsers().get(node_type)
    assert isinstance(data, Data) and parser is not None
    with pytest.raises(LineError, match=reason):
        parser.parse(data)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HELLO", "HELLO needs <node-id> <node-type>"),
        ("HELLO bad/id fedm", "node id 'bad/id'"),
        ("HELLO n1 9type", "node type '9type'"),
        ("HB", "HB needs exactly one <t>"),
        ("HB soon", "HB time 'soon' is not a number"),
        ("STATUS", "STATUS needs at least one key=value"),
        ("STATUS =5", "'=5' is not key=value"),
        ("STATUS hv=", "'hv=' is not key=value"),
        ("LOG", "LOG needs <level> <text>"),
        ("LOG LOUD hello", "LOG level 'LOUD'"),
        ("DATA PULSE", "DATA needs <kind> <t_ns>"),
        ("DATA 9X 1", "DATA kind '9X'"),
        ("DATA PULSE 1.5 3 12", "DATA time '1.5' is not integer nanoseconds"),
        ("DATA PULSE -1 3 12", "DATA time -1 is negative"),
        ("WHATEVER this is", "unknown line kind 'WHATEVER'"),
    ],
)
def test_malformed_lines_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(LineError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse_line(text)


def test_pulses_parse_with_an_optional_amplitude() -> None:
    fedm = default_parsers().get("fedm")
    assert fedm is not None
    line = parse_line("DATA PULSE 100 3 12 61.5")
    assert isinstance(line, Data)
    assert fedm.parse(line) == {"channel": 3, "width_ns": 12, "amplitude_mv": 61.5}
    short = parse_line("DATA PULSE 100 3 12")
    assert isinstance(short, Data)
    assert fedm.parse(short) == {"channel": 3, "width_ns": 12}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("DATA PULSE 1 3", "needs <t_ns> <channel> <width_ns> \\[amplitude_mv\\], got 1"),
        ("DATA PULSE 1 3 12 5 6", "got 4 fields"),
        ("DATA PULSE 1 99 12", "channel 99 is outside"),
        ("DATA PULSE 1 x 12", "channel 'x' is not a valid int"),
    ],
)
def test_bad_fields_are_malformed(text: str, reason: str) -> None:
    fedm = default_parsers().get("fedm")
    assert fedm is not None
    line = parse_line(text)
    assert isinstance(line, Data)
    with pytest.raises(LineError, match=reason):
        fedm.parse(line)


def test_a_kind_the_parser_does_not_know_is_raw() -> None:
    line = parse_line("DATA SHOWER 1 5")
    assert isinstance(line, Data)
    fedm = default_parsers().get("fedm")
    assert fedm is not None and fedm.parse(line) is None


def test_the_registry_finds_parsers_by_type_and_takes_new_ones() -> None:
    registry = default_parsers()
    assert registry.types() == {"ctu": ["TICK"], "fedm": ["PULSE"]}
    assert registry.get("weather") is None
    registry.register(FieldParser("weather", {"wind": (Field("speed_ms", float, 0, 100),)}))
    weather = registry.get("weather")
    line = parse_line("DATA WIND 5 12.5")
    assert weather is not None and isinstance(line, Data)
    assert weather.parse(line) == {"speed_ms": 12.5}
    assert ParserRegistry().types() == {}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ((Field("node"),), "clash"),
        ((Field("a"), Field("a")), "clash"),
        ((Field("a", required=False), Field("b")), "optional fields must come last"),
    ],
)
def test_a_bad_parser_declaration_is_refused(fields: tuple[Field, ...], reason: str) -> None:
    with pytest.raises(NodeBridgeError, match=reason):
        FieldParser("x", {"K": fields})


def test_a_field_name_must_be_a_column_name() -> None:
    with pytest.raises(LineError, match="is not key=value"):
        FieldParser("x", {"K": (Field("Bad Name"),)})
