"""Command-line strings become typed arguments through the command's JSON Schema."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from controlroom.cli.convert import SERVICE_PARAMS, convert, parse_arguments
from controlroom.cli.errors import CliError
from controlroom.cli.render import commands_table, describe_params

SET_POINT = {
    "properties": {
        "loop": {"type": "integer", "enum": [1, 2]},
        "kelvin": {"type": "number", "minimum": 0, "maximum": 400},
        "ramp": {"type": "boolean", "default": False},
        "mode": {"enum": ["OFF", "CLOSED_LOOP"]},
        "curve": {"type": "array", "items": {"type": "number"}},
        "label": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "anything": {},
    },
    "required": ["loop", "kelvin"],
    "x-order": ["loop", "kelvin", "ramp", "mode", "curve", "label", "anything"],
}


@pytest.mark.parametrize(
    ("text", "schema", "expected"),
    [
        ("5", {"type": "integer"}, 5),
        ("0x1F", {"type": "integer"}, 31),
        ("5", {"type": "number"}, 5),
        ("-2.5e-3", {"type": "number"}, -2.5e-3),
        ("on", {"type": "boolean"}, True),
        ("No", {"type": "boolean"}, False),
        ("closed_loop", {"enum": ["OFF", "CLOSED_LOOP"]}, "CLOSED_LOOP"),
        ("2", {"enum": [1, 2]}, 2),
        ("KELVIN", {"enum": [1, 2]}, "KELVIN"),  # maybe a member name: the server decides
        ("1, 2.5,3", {"type": "array", "items": {"type": "number"}}, [1, 2.5, 3]),
        ("[1, 2]", {"type": "array", "items": {"type": "integer"}}, [1, 2]),
        ("", {"type": "array"}, []),
        ("null", {"anyOf": [{"type": "number"}, {"type": "null"}]}, None),
        ("4", {"anyOf": [{"type": "number"}, {"type": "null"}]}, 4),
        ("007", {"type": "string"}, "007"),
        ('{"a": 1}', {}, {"a": 1}),
        ("plain words", {}, "plain words"),
    ],
)
def test_convert(text: str, schema: dict[str, Any], expected: Any) -> None:
    assert convert(text, schema, "x") == expected


@pytest.mark.parametrize(
    ("text", "schema", "message"),
    [
        ("1.5", {"type": "integer"}, "argument 'x': expected an integer, got '1.5'"),
        ("abc", {"type": "number"}, "argument 'x': expected a number, got 'abc'"),
        ("maybe", {"type": "boolean"}, "expected true or false"),
        ("[1,", {"type": "array"}, "expected a JSON list"),
    ],
)
def test_convert_errors_name_the_argument(text: str, schema: dict[str, Any], message: str) -> None:
    with pytest.raises(CliError, match=message.replace("[", r"\[")):
        convert(text, schema, "x")


def test_positional_and_keyword_arguments() -> None:
    args, kwargs = parse_arguments("set_point", SET_POINT, ["1", "77.5", "mode=off", "ramp=yes"])
    assert args == [1, 77.5]
    assert kwargs == {"mode": "OFF", "ramp": True}


def test_values_containing_equals_signs_stay_values() -> None:
    args, _ = parse_arguments("echo", {"properties": {}}, ["a=b"])
    assert args == ["a=b"]
    args, _ = parse_arguments("set_point", SET_POINT, ["1", "2", "no", "OFF", "1", "x", "*ESE=1"])
    assert args[-1] == "*ESE=1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["loop=1", "loop=2"], "argument 'loop' given twice"),
        (["kelvn=3"], "set_point has no argument 'kelvn'"),
        (["loop=1", "3"], "positional value '3' after key=value arguments"),
    ],
)
def test_argument_mistakes(raw: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message):
        parse_arguments("set_point", SET_POINT, raw)


def test_service_commands_have_schemas() -> None:
    _, kwargs = parse_arguments("set_rates", SERVICE_PARAMS["set_rates"], ["hk_period_s=2"])
    assert kwargs == {"hk_period_s": 2}
    args, _ = parse_arguments("set_log_level", SERVICE_PARAMS["set_log_level"], ["debug"])
    assert args == ["DEBUG"]


def test_parameters_are_described_for_people() -> None:
    lines = describe_params(SET_POINT)
    assert lines[:3] == ["loop: one of 1|2", "kelvin: number 0..400", "(ramp: boolean = False)"]
    assert "(curve: list of number)" in lines
    assert "(label: string or null)" in lines


def _table_text(commands: list[dict[str, Any]]) -> str:
    console = Console(width=120, record=True)
    console.print(commands_table({"name": "stage", "commands": commands}, []))
    return console.export_text()


def test_the_commands_table_marks_the_commands_that_interrupt() -> None:
    move = {"name": "move", "kind": "custom", "params": {}}
    stop = {"name": "stop", "kind": "write", "params": {}}
    assert "interrupts" not in _table_text([move, stop])
    text = _table_text([move, {**stop, "interrupts": True}])
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if "stop" in line)
    assert "interrupts" in lines[at + 1] and text.count("interrupts") == 1
