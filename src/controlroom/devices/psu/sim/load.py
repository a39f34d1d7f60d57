"""What hangs on each output of the simulated supply: a resistor, nothing, or a lamp.

A load is seen by the supply as a resistance. A plain resistor keeps it; a
filament lamp has a cold resistance several times lower than its hot one, so
at switch-on it draws more than its rated current (the supply goes into
constant current), then heats up, its resistance rises and the supply comes
back to constant voltage, as it does on the bench.

Loads are named on the simulator's command line as ``CHANNEL=SPEC``:
``open``, ``<ohms>`` (``10``, ``4.7``) or ``lamp:<cold ohms>:<hot ohms>:<rated
volts>[:<seconds>]`` (the last is the filament's thermal time constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class LoadSpecError(ValueError):
    """A load description on the command line that cannot be understood."""


class Load(Protocol):
    """A load as the supply sees it."""

    @property
    def ohms(self) -> float:
        """The resistance now (``math.inf`` for an open output)."""

    def advance(self, volts: float, seconds: float) -> None:
        """Let ``seconds`` pass with ``volts`` across the load."""

    def describe(self) -> str:
        """The load in the command-line notation."""


@dataclass
class ResistiveLoad:
    """A fixed resistance; ``math.inf`` leaves the output open."""

    resistance: float = math.inf

    def __post_init__(self) -> None:
        if not self.resistance > 0:
            raise LoadSpecError(f"a load needs a positive resistance, not {self.resistance}")

    @property
    def ohms(self) -> float:
        return self.resistance

    def advance(self, volts: float, seconds: float) -> None:
        """A resistor does not change."""

    def describe(self) -> str:
        return "open" if math.isinf(self.resistance) else f"{self.resistance:g}"


@dataclass
class LampLoad:
    """A filament lamp: resistance between ``cold_ohms`` and ``hot_ohms`` by filament heat.

    The heat (0 cold, 1 at rated power) follows the electrical power with the
    time constant ``tau_s``; at the rated voltage it settles at 1 and the lamp
    draws its rated current.
    """

    cold_ohms: float
    hot_ohms: float
    rated_volts: float
    tau_s: float = 0.5
    heat: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.cold_ohms <= self.hot_ohms:
            raise LoadSpecError("a lamp needs 0 < cold ohms <= hot ohms")
        if self.rated_volts <= 0 or self.tau_s <= 0:
            raise LoadSpecError("a lamp needs a positive rated voltage and time constant")

    @property
    def ohms(self) -> float:
        return self.cold_ohms + (self.hot_ohms - self.cold_ohms) * min(self.heat, 1.5)

    @property
    def rated_watts(self) -> float:
        return self.rated_volts**2 / self.hot_ohms

    def advance(self, volts: float, seconds: float) -> None:
        # The exact step of a first-order lag: stable for any step length.
        target = (volts * volts / self.ohms) / self.rated_watts
        self.heat += (target - self.heat) * (1.0 - math.exp(-seconds / self.tau_s))

    def describe(self) -> str:
        return f"lamp:{self.cold_ohms:g}:{self.hot_ohms:g}:{self.rated_volts:g}:{self.tau_s:g}"


def parse_load(spec: str) -> Load:
    """A load from its command-line notation (see the module doc)."""
    text = spec.strip().lower()
    if text == "open":
        return ResistiveLoad()
    if text.startswith("lamp:"):
        numbers = _numbers(spec, text.split(":")[1:])
        if len(numbers) not in (3, 4):
            raise LoadSpecError(f"{spec!r}: expected lamp:COLD:HOT:VOLTS[:SECONDS]")
        return LampLoad(*numbers)
    return ResistiveLoad(_numbers(spec, [text])[0])


def parse_channel_load(text: str) -> tuple[int, Load]:
    """``"2=lamp:1.5:12:12"`` → ``(2, LampLoad(...))``."""
    channel, sep, spec = text.partition("=")
    if not sep or not channel.strip().isdigit():
        raise LoadSpecError(f"{text!r}: expected CHANNEL=LOAD, e.g. 1=10 or 2=open")
    return int(channel), parse_load(spec)


def _numbers(spec: str, parts: list[str]) -> list[float]:
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise LoadSpecError(f"{spec!r} is not a load: use open, OHMS or lamp:...") from None
    if not all(math.isfinite(v) for v in values):
        raise LoadSpecError(f"{spec!r}: numbers must be finite")
    return values
