"""An in-process simulated sensor: no hardware, no transport, believable numbers.

The reading drifts slowly like a room-temperature probe: an Ornstein–Uhlenbeck
process pulled towards a baseline that itself swings gently over
``cycle_s``. It is deterministic for a given seed and clock, so tests can
step time instead of waiting.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from controlroom.device import DeviceError, Interface, command, in_range


class DummyFault(DeviceError):
    """The failure the dummy raises on purpose, to exercise error paths."""


class DummySensor(Interface):
    """A simulated sensor living inside the control server process."""

    hk_min_period_s = 0.001
    status_min_period_s = 0.001

    def __init__(
        self,
        *,
        baseline: float = 20.0,
        swing: float = 0.5,
        cycle_s: float = 600.0,
        pull_per_s: float = 0.05,
        noise: float = 0.01,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._baseline, self._swing, self._cycle_s = baseline, swing, cycle_s
        self._pull, self._noise = pull_per_s, noise
        self._rng = random.Random(seed)
        self._clock = clock
        self._t0 = self._last = clock()
        self._value = baseline
        self._offset = 0.0
        self._lock = threading.Lock()

    def _target(self, t: float) -> float:
        return self._baseline + self._swing * math.sin(2 * math.pi * t / self._cycle_s)

    def _advance(self) -> float:
        with self._lock:
            now = self._clock()
            dt = max(0.0, now - self._last)
            self._last = now
            if dt > 0:
                # Exact OU update, stable for any step size.
                decay = math.exp(-self._pull * dt)
                spread = self._noise * math.sqrt(1 - decay**2)
                target = self._target(now - self._t0)
                self._value = target + (self._value - target) * decay
                self._value += spread * self._rng.gauss(0.0, 1.0)
            return self._value + self._offset

    @command(access="read")
    def read_value(self) -> float:
        """The current reading, in degrees Celsius."""
        return self._advance()

    @command()
    def set_offset(self, offset: Annotated[float, in_range(-100.0, 100.0)]) -> None:
        """Add a calibration offset to every reading."""
        self._offset = offset

    @command(access="read")
    def get_offset(self) -> float:
        """The calibration offset in use."""
        return self._offset

    @command(access="read")
    def device_info(self) -> str:
        """Identification string of the (simulated) device."""
        return "controlroom,DUMMY-SENSOR,SN0001,1.0"

    @command(access="read")
    def echo(self, value: Any) -> Any:
        """Return the value unchanged (for round-trip measurements)."""
        return value

    @command()
    def busy(self, seconds: Annotated[float, in_range(0.0, 60.0)]) -> float:
        """Keep the device busy for a while, like a slow move; returns the seconds spent."""
        started = time.monotonic()
        time.sleep(seconds)  # the device is simulated to be slow; nothing to wait for
        return time.monotonic() - started

    @command(access="read")
    def fail(self, message: str = "the dummy failed on purpose") -> None:
        """Always fails with DummyFault: exercises the error path end to end."""
        raise DummyFault(message)

    def housekeeping(self) -> dict[str, Any]:
        return {"DUMMY_VALUE": self._advance(), "DUMMY_OFFSET": self._offset}

    def status(self) -> dict[str, Any]:
        return {"value": self._advance()}
