"""Decoded values become JSON types, for the CLI's output and the pipe-command replies."""

from __future__ import annotations

import datetime as dt
import enum

import numpy as np

from controlroom.wire.jsondata import jsonable


class Mode(enum.Enum):
    OFF = "off"


def test_arrays_numbers_complex_and_sets_become_json_types() -> None:
    value = {"t": np.arange(3.0), "n": np.int64(4), "c": 1 + 2j, "s": {1}}
    assert jsonable(value) == {"t": [0.0, 1.0, 2.0], "n": 4, "c": [1.0, 2.0], "s": [1]}


def test_enums_times_and_bytes_become_their_plain_values() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    value = (Mode.OFF, when, dt.timedelta(minutes=1), b"\x01\xff", {3: None})
    assert jsonable(value) == ["off", "2026-01-02T03:04:05+00:00", 60.0, "01ff", {"3": None}]
