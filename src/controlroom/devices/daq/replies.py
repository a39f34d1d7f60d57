"""What the DAQ answers: error-queue entries, readings, overflow (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from controlroom.device import DeviceError, DeviceTimeout, ReplyError

OVERFLOW = 9.9e37
"""What SCPI instruments send for a reading they cannot make (an open thermocouple)."""
NO_ERROR_REPLY = '+0,"No error"'


class DaqError(DeviceError):
    """Root of the errors of the scanning-DAQ package."""


class CommandRefused(DaqError, ReplyError):
    """The DAQ put an error in its queue for a command (``SYST:ERR?`` was not 0)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"the DAQ refused the command: {code} {message}")
        self.code = code
        self.message = message


class ScanTimeout(DaqError, DeviceTimeout):
    """A scan did not finish within the time the driver allows for it."""


def parse_error(reply: str) -> tuple[int, str]:
    """``-221,"Settings conflict"`` → ``(-221, "Settings conflict")``."""
    code, _, message = reply.strip().partition(",")
    try:
        return int(code), message.strip().strip('"')
    except ValueError:
        raise ReplyError(f"expected an error queue entry from the DAQ, got {reply!r}") from None


def check_error(reply: str) -> None:
    """Raise if the ``SYST:ERR?`` that ends a setting is not ``+0,"No error"``."""
    code, message = parse_error(reply)
    if code != 0:
        raise CommandRefused(code, message)


def split_checked(reply: str) -> str:
    """Split ``<answer>;<SYST:ERR? answer>``; raise if the error part is not 0, return the answer.

    A query the DAQ refuses gives no answer, so the reply is then the error entry alone.
    """
    cut = _last_unquoted(reply, ";")
    if cut < 0:
        # Only the error queue answered: the query itself failed.
        check_error(reply)
        raise ReplyError(f"the DAQ answered only the error query: {reply!r}")
    check_error(reply[cut + 1 :])
    return reply[:cut]


def _last_unquoted(text: str, separator: str) -> int:
    """Index of the last ``separator`` outside double quotes (error texts may hold one), or -1."""
    found, quoted = -1, False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            found = index
    return found


def parse_float(reply: str) -> float:
    try:
        return float(reply)
    except ValueError:
        raise ReplyError(f"expected a number from the DAQ, got {reply!r}") from None


def parse_int(reply: str) -> int:
    try:
        return int(float(reply))
    except ValueError:
        raise ReplyError(f"expected an integer from the DAQ, got {reply!r}") from None


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
