"""The arguments of the DAQ6510 driver's commands: channels, sensor kinds, units, NPLC."""

from __future__ import annotations

import enum
from typing import Annotated

from controlroom.device import ReplyError, choices, in_range
from controlroom.devices.daq.channels import ALL_CHANNELS, channel_list

Channels = Annotated[str, channel_list()]
Channel = Annotated[int, choices(*ALL_CHANNELS)]
NPLC_RANGE = (0.0005, 15.0)
"""Integration times the DAQ6510 takes; above 12 it refuses them on a 50 Hz line."""
Nplc = Annotated[float, in_range(*NPLC_RANGE)]
ScanCount = Annotated[int, in_range(1, 1000)]


class Transducer(enum.Enum):
    TC = "TC"  # thermocouple
    RTD = "RTD"  # 2-wire platinum resistor
    TRTD = "TRTD"  # 3-wire platinum resistor
    FRTD = "FRTD"  # 4-wire platinum resistor (channels 1-10 of a card)
    THER = "THER"  # thermistor


class TcType(enum.Enum):
    J = "J"
    K = "K"
    T = "T"
    E = "E"
    N = "N"
    R = "R"
    S = "S"
    B = "B"


class TempUnit(enum.Enum):
    K = "K"
    C = "C"
    F = "F"


UNIT_WORDS = {TempUnit.K: "KELV", TempUnit.C: "CELS", TempUnit.F: "FAHR"}
"""How the DAQ6510 names a unit, in ``SENS:TEMP:UNIT`` and its answers."""


def unit_of(word: str) -> TempUnit:
    """``KELV`` → ``TempUnit.K``."""
    found = {value: unit for unit, value in UNIT_WORDS.items()}.get(word.strip().upper())
    if found is None:
        raise ReplyError(f"expected CELS, FAHR or KELV, got {word!r}")
    return found
