"""What the DAQ answers: readings, overflow, averages over sweeps (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from controlroom.device import DeviceError, DeviceTimeout, ReplyError
from controlroom.device.replies import parse_float

OVERFLOW = 9.9e37
"""What SCPI instruments send for a reading they cannot make (an open thermocouple)."""


class DaqError(DeviceError):
    """Root of the errors of the scanning-DAQ package."""


class ScanTimeout(DaqError, DeviceTimeout):
    """A scan did not finish within the time the driver allows for it."""


def parse_reading(text: str) -> float | None:
    """One reading; ``None`` for the overflow value the DAQ sends for an open sensor."""
    value = parse_float(text)
    return None if math.isinf(value) or abs(value) >= OVERFLOW * 0.99 else value


def parse_readings(reply: str) -> list[float | None]:
    """``+2.9315E+02,+9.9E+37`` → ``[293.15, None]``; an empty reply is no readings."""
    if not reply.strip():
        return []
    return [parse_reading(part) for part in reply.split(",")]


def average_by_channel(
    channels: Sequence[int], readings: Sequence[float | None], sweeps: int
) -> dict[int, float | None]:
    """Mean of each channel over ``sweeps`` passes of the scan list.

    Readings come sweep after sweep in scan-list order. A channel that
    overflowed in any sweep is ``None``: an intermittent open sensor is a fault
    to see, not to average away.
    """
    if sweeps < 1 or len(readings) != len(channels) * sweeps:
        raise ReplyError(
            f"expected {len(channels)} channels x {sweeps} sweeps of readings, got {len(readings)}"
        )
    result: dict[int, float | None] = {}
    for index, channel in enumerate(channels):
        values = [readings[sweep * len(channels) + index] for sweep in range(sweeps)]
        present = [value for value in values if value is not None]
        result[channel] = math.fsum(present) / sweeps if len(present) == sweeps else None
    return result
