"""The OGSE attenuator: two filter wheels of neutral-density filters (pure, no I/O).

Wheel 1 holds fine steps (optical density 0.0–0.7 in 0.1), wheel 2 coarse
ones (0.0–3.9), so the 64 combinations give the 47 attenuation levels
``#0`` (OD 0, factor 1) to ``#46`` (OD 4.6, factor 10^-4.6). A level reached
by several combinations uses the first one found with wheel 2 turning least.
Level *up* means one step more attenuation (a higher index, a lower factor).
Both wheels turn at once, the short way round; a move takes a second per
position of the wheel that turns most, plus time to settle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WHEEL_POSITIONS = 8
WHEEL1_OD = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
WHEEL2_OD = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.2, 3.9)
OD_STEP = 0.1
STEP_TIME_S = 1.0
SETTLE_TIME_S = 0.5

Positions = tuple[int, int]


def level_of(positions: Positions) -> int:
    """The level index of two wheel positions (each 1–8)."""
    wheel1, wheel2 = positions
    return round((WHEEL1_OD[wheel1 - 1] + WHEEL2_OD[wheel2 - 1]) / OD_STEP)


def _positions_by_level() -> tuple[Positions, ...]:
    found: dict[int, Positions] = {}
    for wheel2 in range(1, WHEEL_POSITIONS + 1):
        for wheel1 in range(1, WHEEL_POSITIONS + 1):
            found.setdefault(level_of((wheel1, wheel2)), (wheel1, wheel2))
    if sorted(found) != list(range(len(found))):
        raise ValueError("the filter wheels leave gaps between attenuation levels")
    return tuple(found[index] for index in range(len(found)))


POSITIONS_BY_LEVEL = _positions_by_level()
MAX_LEVEL = len(POSITIONS_BY_LEVEL) - 1


def factor_of(level: int) -> float:
    """Transmission of a level: 1.0 at ``#0``, 10^-4.6 at ``#46``."""
    return float(10.0 ** (-level * OD_STEP))


def level_closest_to_factor(factor: float) -> int:
    """The level whose transmission is closest to ``factor`` (on a log scale)."""
    if factor <= 0.0:
        return MAX_LEVEL
    return min(max(round(-math.log10(factor) / OD_STEP), 0), MAX_LEVEL)


def clamp_level(level: int) -> int:
    return min(max(level, 0), MAX_LEVEL)


def move_time_s(start: Positions, end: Positions) -> float:
    """How long the wheels take from ``start`` to ``end``; 0 if neither turns."""
    steps = max(_steps(a, b) for a, b in zip(start, end, strict=True))
    return steps * STEP_TIME_S + SETTLE_TIME_S if steps else 0.0


def _steps(start: int, end: int) -> int:
    apart = abs(start - end)
    return min(apart, WHEEL_POSITIONS - apart)


@dataclass
class FilterWheels:
    """Where the wheels are going, and until when (simulated seconds) they turn.

    The light keeps the transmission of the previous level until the move ends:
    a power meter behind the wheels sees the change only then.
    """

    positions: Positions = POSITIONS_BY_LEVEL[0]
    previous_level: int = 0
    moving_until: float = 0.0

    @property
    def level(self) -> int:
        return level_of(self.positions)

    def is_moving(self, now: float) -> bool:
        return now < self.moving_until

    def transmission(self, now: float) -> float:
        return factor_of(self.previous_level if self.is_moving(now) else self.level)

    def move_to(self, positions: Positions, now: float) -> None:
        if not all(1 <= p <= WHEEL_POSITIONS for p in positions):
            raise ValueError(f"wheel positions must be 1..{WHEEL_POSITIONS}, not {positions}")
        # Interrupting a move: the wheels turn on from the target they were heading for.
        self.previous_level = self.level if not self.is_moving(now) else self.previous_level
        self.moving_until = max(now, self.moving_until) + move_time_s(self.positions, positions)
        self.positions = positions

    def move_to_level(self, level: int, now: float) -> None:
        self.move_to(POSITIONS_BY_LEVEL[clamp_level(level)], now)
