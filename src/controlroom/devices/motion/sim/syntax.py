"""The ESP300 command syntax, both ways: parsing ``[xx]AA[?|nn]`` and writing replies (pure).

As the manual gives it: an optional axis number ``xx``, a two-letter mnemonic
``AA`` in either case, then ``?`` for a query or the parameter ``nn``. Blanks
are ignored anywhere, so ``1PA10``, ``1 pa 10`` and ``01PA10.0`` are one
command. A line holds several commands separated by ``;``; the simulator
joins the replies of its queries with ``,`` into one reply line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from controlroom.devices.motion import codes
from controlroom.devices.motion.sim.axis import SimulatorError

_COMMAND = re.compile(r"(\d*)(\*IDN|[A-Z]{2})(\?)?(.*)")


@dataclass(frozen=True)
class Command:
    """One command of a line: ``1PA?`` is axis 1, ``PA``, a query, no argument."""

    axis: int | None
    name: str
    query: bool
    argument: str


def split_line(line: str) -> list[str]:
    """The commands of a line, in order; empty ones (``1MO;;1OR``) are dropped."""
    return [part for part in line.split(";") if part.strip()]


def parse(text: str) -> Command:
    """``" 2 pa 1000"`` → ``Command(2, "PA", False, "1000")``; error 6 if it is not a command."""
    match = _COMMAND.fullmatch("".join(text.split()).upper())
    if match is None:
        raise SimulatorError(codes.UNKNOWN_COMMAND, repr(text))
    number, name, query, argument = match.groups()
    return Command(int(number) if number else None, name, query is not None, argument)


def number(argument: str) -> float:
    """The numeric parameter ``nn``; error 38 if missing, 7 if not a finite number."""
    if not argument:
        raise SimulatorError(codes.PARAMETER_MISSING)
    try:
        value = float(argument)
    except ValueError:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, repr(argument)) from None
    if not math.isfinite(value):
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, repr(argument))
    return value


def optional_number(argument: str, default: float) -> float:
    """``nn`` where the manual lets it out: ``1DH`` is ``1DH0``."""
    return number(argument) if argument else default


def no_argument(argument: str) -> None:
    if argument:
        raise SimulatorError(codes.PARAMETER_OUT_OF_RANGE, f"unexpected {argument!r}")


def format_value(value: float) -> str:
    """Five decimals, as positions and speeds are reported: ``12.50000``, never ``-0.00000``."""
    rounded = round(value, 5)
    return f"{rounded if rounded != 0 else 0.0:.5f}"


def flag(value: bool) -> str:
    return "1" if value else "0"
