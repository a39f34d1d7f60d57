"""Text to command arguments in the device layer: mistakes are ArgumentErrors."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError
from controlroom.device.argtext import SERVICE_PARAMS, convert, parse_arguments

OFFSET = {"properties": {"offset": {"type": "number"}}, "x-order": ["offset"]}


def test_words_become_typed_arguments() -> None:
    assert parse_arguments("set_offset", OFFSET, ["2.5"]) == ([2.5], {})
    assert parse_arguments("set_offset", OFFSET, ["offset=-1"]) == ([], {"offset": -1})
    assert parse_arguments("set_rates", SERVICE_PARAMS["set_rates"], ["1"]) == ([1], {})


def test_mistakes_are_argument_errors() -> None:
    with pytest.raises(ArgumentError, match="argument 'offset': expected a number, got 'x'"):
        parse_arguments("set_offset", OFFSET, ["x"])
    with pytest.raises(ArgumentError, match="set_offset has no argument 'ofset'"):
        parse_arguments("set_offset", OFFSET, ["ofset=1"])
    with pytest.raises(ValueError, match="expected true or false"):  # ArgumentError is one
        convert("maybe", {"type": "boolean"}, "flag")
