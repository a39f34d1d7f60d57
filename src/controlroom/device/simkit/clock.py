"""Simulated time: a model's seconds, running ``speed`` times faster than a real clock.

A simulator's model is pure and takes time as an argument; this is where that
time comes from. The real clock is injectable, so a test drives a simulator
with a fake clock and no sleeping.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

_LOG = logging.getLogger(__name__)


class SimulatedClock:
    """Simulated seconds since creation, and since the last :meth:`elapsed`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.real = clock
        self.speed = speed
        self._start = self._last = clock()

    def now(self) -> float:
        """Simulated seconds since this clock was made."""
        return (self.real() - self._start) * self.speed

    def elapsed(self, limit_s: float = math.inf) -> float:
        """Simulated seconds since the last call, at most ``limit_s``.

        A model integrates the span in steps; after a long idle gap (a suspended
        laptop) simulating only the last ``limit_s`` leaves it settled without
        stalling the reply for minutes.
        """
        now = self.real()
        elapsed = max(now - self._last, 0.0) * self.speed
        self._last = now
        if elapsed > limit_s:
            _LOG.info("clock jumped %.0f s; simulating the last %.0f s", elapsed, limit_s)
            return limit_s
        return elapsed
