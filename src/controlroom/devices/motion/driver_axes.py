"""The axes of the motion controller, their argument types, and waiting for a motion to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated

from controlroom.device import choices, in_range
from controlroom.device.transports.base import Transport
from controlroom.devices.motion import codes
from controlroom.devices.motion.errors import (
    MotionFailed,
    MotionTimeout,
    parse_flag,
    parse_float,
    parse_int,
    split_reply,
)

AXES = (1, 2, 3, 4)
AXIS_NAMES = {1: "x", 2: "y", 3: "z", 4: "rz"}
"""Axis number -> the name used in housekeeping (``x_position``) and messages."""

Axis = Annotated[int, choices(*AXES)]
Position = Annotated[float, in_range(-1000.0, 1000.0)]  # mm or deg; the limits are narrower
WAIT_LIMIT_S = 600.0
Timeout = Annotated[float, in_range(0.0, WAIT_LIMIT_S)]


def axes_or_all(axis: int | None) -> tuple[int, ...]:
    return AXES if axis is None else (axis,)


def wait_for_motion(
    transport: Transport,
    axes: Sequence[int],
    timeout_s: float,
    poll_s: float,
    clock: Callable[[], float],
) -> dict[str, float]:
    """Poll until ``axes`` are at rest; their positions, or raise if one ended off target."""
    deadline = clock() + timeout_s
    while not all(parse_flag(p) for p in _ask(transport, [f"{n}MD?" for n in axes])):
        if clock() >= deadline:
            names = ", ".join(AXIS_NAMES[n] for n in axes)
            raise MotionTimeout(f"axis {names} still moving after {timeout_s} s")
        time.sleep(poll_s)
    queries = [f"{n}{query}" for query in ("TP?", "DP?", "IP?") for n in axes]
    parts = _ask(transport, queries)
    count = len(axes)
    positions = [parse_float(p) for p in parts[:count]]
    targets = [parse_float(p) for p in parts[count : 2 * count]]
    arrived = [parse_flag(p) for p in parts[2 * count :]]
    if not all(arrived):
        raise MotionFailed(_why(transport, axes, positions, targets, arrived))
    return {AXIS_NAMES[n]: position for n, position in zip(axes, positions, strict=True)}


def _why(
    transport: Transport,
    axes: Sequence[int],
    positions: list[float],
    targets: list[float],
    arrived: list[bool],
) -> str:
    stopped = [
        f"axis {AXIS_NAMES[n]} at rest at {position}, not in position at {target}"
        for n, position, target, ok in zip(axes, positions, targets, arrived, strict=True)
        if not ok
    ]
    code = parse_int(transport.query("TE?"))
    if code != codes.NO_ERROR:
        stopped.append(f"error {code}: {codes.describe(code)}")
    return "; ".join(stopped)


def _ask(transport: Transport, queries: list[str]) -> list[str]:
    return split_reply(transport.query(";".join(queries)), len(queries))
