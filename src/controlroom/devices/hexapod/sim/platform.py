"""The moving platform: at rest, or on its way through planned legs (pure, time passed in).

Its pose is the platform frame in the machine frame. A move is one leg, a
homing run two (down to the actuators' reference switches, then up to the
zero position), each starting where and when the one before it ends. A stop
brakes the leg under way and drops the rest; a fault freezes the platform
where it is.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from controlroom.device.simkit.profiles import timed_trapezoid
from controlroom.devices.hexapod.pose import Matrix
from controlroom.devices.hexapod.sim.motion import Leg, Path

RAMP_S = 0.2
"""Time to reach the cruise speed of a move, and to brake from it to rest on a stop."""

IDENTITY = np.eye(4)


class Platform:
    """Where the platform is at any (non-decreasing) simulated time."""

    def __init__(self, pose: Matrix) -> None:
        self._rest = pose
        self._legs: list[Leg] = []

    def pose(self, now: float) -> Matrix:
        self._drop_finished(now)
        return self._legs[0].platform(now) if self._legs else self._rest

    def moving(self, now: float) -> bool:
        self._drop_finished(now)
        return bool(self._legs)

    def destination(self) -> Matrix:
        """Where the platform comes to rest once its legs are done."""
        if not self._legs:
            return self._rest
        last = self._legs[-1]
        return last.platform(last.timing.end_time)

    def finish_time(self, now: float) -> float:
        self._drop_finished(now)
        return self._legs[-1].timing.end_time if self._legs else now

    def go(
        self,
        stops: Iterable[tuple[Matrix, float]],
        now: float,
        *,
        left: Matrix = IDENTITY,
        right: Matrix = IDENTITY,
    ) -> None:
        """Travel through ``stops`` (a pose in the frame of ``left``, and the seconds at cruise
        speed it takes to get there); the platform is ``left · pose · right``."""
        start = now
        here = np.linalg.inv(left) @ self.pose(now) @ np.linalg.inv(right)
        legs = []
        for target, cruise_s in stops:
            leg = Leg(Path(here, target), timed_trapezoid(start, cruise_s, RAMP_S), left, right)
            legs.append(leg)
            here, start = target, leg.timing.end_time
        self._legs = legs

    def brake(self, now: float) -> None:
        """Come to rest along the current leg, short of its end; the later legs are dropped."""
        self._drop_finished(now)
        if self._legs:
            self._legs = [self._legs[0].braked(now, RAMP_S)]

    def freeze(self, now: float) -> None:
        """Stop dead where the platform is at ``now`` (motors cut)."""
        self._rest = self.pose(now)
        self._legs = []

    def _drop_finished(self, now: float) -> None:
        while self._legs and self._legs[0].timing.done(now):
            done = self._legs.pop(0)
            self._rest = done.platform(done.timing.end_time)
