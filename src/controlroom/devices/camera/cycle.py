"""The sync cycle as pure functions of time.

Time ``t`` is in seconds since pulse 0 (the caller's clock minus its
origin); nothing here reads a clock. Pulse ``n`` starts at ``n * period``
with ``period = period_s / speed``. Every fourth pulse (n = 0, 4, 8, ...) is
long (400 ms) and starts a cycle of four pulses (25 s at 6.25 s): on it the
FEE loads its pending register map. The others are short (200 ms). Every
pulse carries the timecode ``n mod 64``.

Within a period the FEE sends its timecode, its HK packet and, in an image
mode, data until ``readout_s`` (4 s) after the pulse; the rest of the period
(>= 2 s) is the command window, the only time it accepts RMAP writes. All
durations are divided by ``speed`` so a test or a bench can run the cycle
faster than real time with the same proportions.

``num_cycles`` belongs to the DPU, not to the FEE: the FEE cannot be told to
take N images, so the DPU counts cycles and sends DUMP itself (see
:func:`count_cycle`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import NamedTuple

from controlroom.devices.camera.errors import TimingError
from controlroom.devices.camera.registers import RegisterMap

PULSES_PER_CYCLE = 4
TIMECODES = 64
MIN_COMMAND_WINDOW_S = 2.0
EXTERNAL_SYNC_PERIOD_S = 6.25
_EPSILON = 1e-9  # of a period: a time computed as n * period belongs to pulse n


class PulseKind(enum.Enum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True)
class Pulse:
    """One sync pulse."""

    number: int
    start_s: float
    width_s: float

    @property
    def position(self) -> int:
        """0 for the long pulse that starts a cycle, then 1, 2, 3."""
        return self.number % PULSES_PER_CYCLE

    @property
    def kind(self) -> PulseKind:
        return PulseKind.LONG if self.position == 0 else PulseKind.SHORT

    @property
    def timecode(self) -> int:
        return self.number % TIMECODES


@dataclass(frozen=True)
class SyncTiming:
    """Durations of the cycle (unscaled seconds) and the speed factor."""

    period_s: float = EXTERNAL_SYNC_PERIOD_S
    speed: float = 1.0
    long_pulse_s: float = 0.4
    short_pulse_s: float = 0.2
    readout_s: float = 4.0

    def __post_init__(self) -> None:
        values = (self.period_s, self.speed, self.long_pulse_s, self.short_pulse_s, self.readout_s)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise TimingError(f"durations and speed must be finite and positive: {self}")
        if self.period_s - self.readout_s < MIN_COMMAND_WINDOW_S:
            raise TimingError(
                f"period {self.period_s} s leaves less than {MIN_COMMAND_WINDOW_S} s for commands "
                f"after {self.readout_s} s of readout"
            )
        if max(self.long_pulse_s, self.short_pulse_s) >= self.readout_s:
            raise TimingError("a sync pulse must be shorter than the readout phase")

    @classmethod
    def from_registers(
        cls, registers: RegisterMap, *, speed: float = 1.0, external_period_s: float = 6.25
    ) -> SyncTiming:
        """The timing the (active) register map selects: internal or external sync."""
        if registers.get("sync_sel"):
            return cls(period_s=registers.get("int_sync_period") / 1000, speed=speed)
        return cls(period_s=external_period_s, speed=speed)

    @property
    def period(self) -> float:
        """Seconds between pulses at this speed."""
        return self.period_s / self.speed

    @property
    def cycle(self) -> float:
        return self.period * PULSES_PER_CYCLE

    @property
    def command_window(self) -> float:
        """Length of the command window at this speed."""
        return (self.period_s - self.readout_s) / self.speed

    def pulse(self, number: int) -> Pulse:
        if number < 0:
            raise TimingError(f"pulse numbers start at 0: {number}")
        long = number % PULSES_PER_CYCLE == 0
        width = self.long_pulse_s if long else self.short_pulse_s
        return Pulse(number, number * self.period, width / self.speed)

    def pulse_at(self, t: float) -> Pulse:
        """The pulse whose period contains ``t``."""
        return self.pulse(self._number(t))

    def window_open(self, t: float) -> bool:
        """True when an RMAP write arriving at ``t`` falls in the command window."""
        phase = t / self.period - self._number(t)
        return phase >= self.readout_s / self.period_s - _EPSILON

    def window_opens(self, number: int) -> float:
        """When the command window of pulse ``number`` opens."""
        return self.pulse(number).start_s + self.readout_s / self.speed

    def next_pulse(self, t: float) -> Pulse:
        """The first pulse after ``t``."""
        return self.pulse(self._number(t) + 1)

    def _number(self, t: float) -> int:
        if not math.isfinite(t) or t < 0:
            raise TimingError(f"time {t} s is before pulse 0")
        return math.floor(t / self.period + _EPSILON)


def readout_ccd(ccd_readout_order: int, position: int) -> int:
    """The CCD (1..4) read out on pulse ``position`` of the cycle."""
    if not 0 <= position < PULSES_PER_CYCLE:
        raise TimingError(f"pulse position {position} is not 0..{PULSES_PER_CYCLE - 1}")
    return ((ccd_readout_order >> (2 * position)) & 0b11) + 1


class CycleCount(NamedTuple):
    num_cycles: int
    go_to_dump: bool


def count_cycle(num_cycles: int) -> CycleCount:
    """The DPU's ``num_cycles`` counter at the start of a cycle (the long pulse).

    Commanding ``num_cycles = N > 0`` together with FULL_IMAGE (in the same
    command window) gives N cycles of images: the mode and the count both
    start at the next long pulse, each long pulse counts one down, and the
    long pulse that brings it to 0 asks for DUMP, which the FEE loads on the
    following long pulse. ``num_cycles = 0`` leaves the mode as it is.

    The counter is decremented on every long pulse without asking whether a
    count is running, so the processor's loop needs a single test (``== 0``
    right after a step); a negative value therefore means "no count running"
    (it ran out, or none was asked) and stays at -1.
    """
    remaining = max(num_cycles - 1, -1)
    return CycleCount(remaining, go_to_dump=remaining == 0)
