"""Reading the axes of an ESP300 in one exchange, and what the driver infers from it.

The controller answers several queries sent on one line; the driver asks
``nTP``, ``nDP?`` and ``nMD?`` of every axis it needs at once. An axis is at
its target when it rests within :data:`IN_POSITION_TOLERANCE` of it. The
controller has no query for "homed", so the driver keeps a
:class:`HomingRecord`: an axis is homed once a home search this driver
started has ended at its target.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.device import ReplyError
from controlroom.device.replies import parse_bool, parse_float, parse_int
from controlroom.device.transports.base import Transport
from controlroom.devices.motion import codes
from controlroom.devices.motion.errors import MotionTimeout

AXES = (1, 2, 3, 4)
AXIS_NAMES = {1: "x", 2: "y", 3: "z", 4: "rz"}
"""Axis number -> the name used in housekeeping (``x_position``) and messages."""

IN_POSITION_TOLERANCE = 1e-3
"""mm or deg: well above the stages' encoder step, far below any move worth making."""


@dataclass(frozen=True)
class AxisReading:
    """One axis at one instant: actual position, target of its last move, at rest or not."""

    position: float
    target: float
    done: bool

    @property
    def at_target(self) -> bool:
        return self.done and abs(self.position - self.target) <= IN_POSITION_TOLERANCE


class HomingRecord:
    """Which axes this driver has seen find their home since it was made."""

    def __init__(self) -> None:
        self._searching: set[int] = set()
        self._homed: set[int] = set()

    def started(self, axes: Iterable[int]) -> None:
        for axis in axes:
            self._searching.add(axis)
            self._homed.discard(axis)

    def observe(self, readings: Mapping[int, AxisReading]) -> None:
        """A search seen at rest has ended: at its target it found home, elsewhere it was cut."""
        for axis, reading in readings.items():
            if axis in self._searching and reading.done:
                self._searching.discard(axis)
                if reading.at_target:
                    self._homed.add(axis)

    def homed(self, axis: int) -> bool:
        return axis in self._homed

    def in_position(self, axis: int, reading: AxisReading) -> bool:
        """Homed, at rest and at the target of its last move."""
        self.observe({axis: reading})
        return self.homed(axis) and reading.at_target


def sample(
    readings: Mapping[int, AxisReading], homing: HomingRecord, *, moving: bool
) -> dict[str, Any]:
    """Housekeeping by name: ``x_position``, ``x_in_position``, ``x_homed`` (``x_moving``)."""
    values: dict[str, Any] = {}
    for n, reading in readings.items():
        name = AXIS_NAMES[n]
        values[f"{name}_position"] = reading.position
        values[f"{name}_in_position"] = homing.in_position(n, reading)
        values[f"{name}_homed"] = homing.homed(n)
        if moving:
            values[f"{name}_moving"] = not reading.done
    return values


def split_reply(reply: str, count: int) -> list[str]:
    """The replies of ``count`` queries sent on one line (the controller joins them with ``,``)."""
    parts = [part.strip() for part in reply.split(",")]
    if len(parts) != count:
        raise ReplyError(f"expected {count} values from the motion controller, got {reply!r}")
    return parts


def ask(transport: Transport, queries: Sequence[str]) -> list[str]:
    return split_reply(transport.query(";".join(queries)), len(queries))


def read_axes(transport: Transport, axes: Sequence[int]) -> dict[int, AxisReading]:
    """Position, target and rest of ``axes``, in one exchange."""
    parts = ask(transport, [f"{n}{query}" for query in ("TP", "DP?", "MD?") for n in axes])
    count = len(axes)
    return {
        n: AxisReading(
            parse_float(parts[i]), parse_float(parts[count + i]), parse_bool(parts[2 * count + i])
        )
        for i, n in enumerate(axes)
    }


def wait_for_motion(
    transport: Transport,
    axes: Sequence[int],
    timeout_s: float,
    poll_s: float,
    clock: Callable[[], float],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, AxisReading]:
    """Poll ``nMD?`` until ``axes`` are at rest; then read them.

    ``sleep`` waits between polls: a watch's sleep ends the wait with
    ``Interrupted`` as soon as a stop or an abort has been sent.
    """
    deadline = clock() + timeout_s
    while not all(parse_bool(p) for p in ask(transport, [f"{n}MD?" for n in axes])):
        if clock() >= deadline:
            names = ", ".join(AXIS_NAMES[n] for n in axes)
            raise MotionTimeout(f"axis {names} still moving after {timeout_s} s")
        sleep(poll_s)
    return read_axes(transport, axes)


def why_short(transport: Transport, readings: Mapping[int, AxisReading]) -> str:
    """Which axes rest away from their target, and the controller's first error."""
    reasons = [
        f"axis {AXIS_NAMES[n]} at rest at {r.position}, not in position at {r.target}"
        for n, r in readings.items()
        if not r.at_target
    ]
    code = parse_int(transport.query("TE?"))
    if code != codes.NO_ERROR:
        reasons.append(f"error {code}: {codes.describe(code)}")
    return "; ".join(reasons)
