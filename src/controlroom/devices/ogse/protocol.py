"""Wire facts both ends of the OGSE link agree on: flag bits, keywords, formats.

The OGSE controller takes one lower-case ASCII command per line (``get lamp``,
``level #12``) and answers every command with one line: ``name: VALUE`` for a
query, ``OK`` for an action, ``ERROR: <why>`` when it refuses or does not know
the command. Lines end with ``\\n``.
"""

from __future__ import annotations

from typing import NamedTuple

FLAG_NAMES = (
    "power",
    "psu",
    "operate",
    "laser",
    "lamp",
    "interlock_open",
    "lamp_fault",
    "controller_fault",
)
"""Meaning of the bits of ``get flags``, least significant first."""

OK = "OK"
ERROR_PREFIX = "ERROR"
WATT, CELSIUS = "W", "C"


class Words(NamedTuple):
    """The two words the controller says for a two-valued state: for True, then for False."""

    true: str
    false: str

    def say(self, value: bool) -> str:
        return self.true if value else self.false


SWITCH = Words("ON", "OFF")
INTERLOCK_OPEN = Words("OPEN", "CLOSE")
FAULT = Words("ERROR", "NO-ERROR")
LINK_OK = Words("OK", "ERROR")


def encode_flags(states: dict[str, bool]) -> int:
    """The flags number of named states (missing names count as clear)."""
    return sum(1 << bit for bit, name in enumerate(FLAG_NAMES) if states.get(name))


def decode_flags(value: int) -> dict[str, bool]:
    """Named states of a flags number."""
    return {name: bool(value >> bit & 1) for bit, name in enumerate(FLAG_NAMES)}


def format_flags(value: int) -> str:
    """``flags: 0x5b  0101 1011``: hexadecimal, then the two nibbles in binary."""
    return f"flags: 0x{value:02x}  {value >> 4 & 0xF:04b} {value & 0xF:04b}"


def format_power(watts: float) -> str:
    return f"{watts:+.6e} {WATT}"


def format_temperature(celsius: float) -> str:
    return f"{celsius:+.1f} {CELSIUS}"


def format_level(factor: float, index: int, moving: bool) -> str:
    """``* 1.00E-02 #20``: a star while the wheels turn, the factor, the level index."""
    return f"{'* ' if moving else ''}{factor:.2E} #{index}"
