"""What the DAQ6510 answers: error entries, trigger states, readings, overflow (pure, no I/O).

Its error queue entries read ``-221,"Settings conflict;1;2024/05/01 10:00:00.000"``
(message, severity and time inside the quotes) and ``0,"No error;0;0 0"`` when
empty; an entry without the extra fields is read the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from controlroom.device import DeviceError, DeviceTimeout, ReplyError
from controlroom.device.replies import CommandRefused, parse_float

OVERFLOW = 9.9e37
"""What SCPI instruments send for a reading they cannot make (an open thermocouple)."""


class DaqError(DeviceError):
    """Root of the errors of the scanning-DAQ package."""


class ScanTimeout(DaqError, DeviceTimeout):
    """A scan did not finish within the time the driver allows for it."""


ACTIVE_STATES = frozenset({"RUNNING", "WAITING", "BUILDING", "PAUSED", "ABORTING"})
"""Trigger model states in which a scan has not ended."""


def parse_event(reply: str) -> tuple[int, str]:
    """``-113,"Undefined header;1;2024/05/01 10:00:00.000"`` → ``(-113, "Undefined header")``."""
    code, _, rest = reply.strip().partition(",")
    try:
        number = int(code)
    except ValueError:
        raise ReplyError(f"expected an error queue entry, got {reply!r}") from None
    return number, rest.strip().strip('"').split(";")[0]


def check_event(reply: str) -> None:
    """Raise :class:`CommandRefused` unless the ``SYST:ERR?`` ending a line is no error."""
    code, message = parse_event(reply)
    if code != 0:
        raise CommandRefused(
            f"the instrument refused the command: {code} {message}", code=code, message=message
        )


def answer_of(reply: str) -> str:
    """Split ``<answers>;<SYST:ERR? entry>``; raise if the entry is an error, return the answers.

    A refused query gives no answer, so the reply is then the entry alone.
    """
    cut, quoted = -1, False
    for index, char in enumerate(reply):
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            cut = index
    check_event(reply[cut + 1 :])
    if cut < 0:
        raise ReplyError(f"the instrument answered only the error query: {reply!r}")
    return reply[:cut]


def parse_running(reply: str) -> bool:
    """``TRIG:STAT?`` → whether a scan is in progress: ``RUNNING;RUNNING;0`` → True."""
    state = reply.strip().split(";")[0].upper()
    if not state.isalpha():
        raise ReplyError(f"expected a trigger state, got {reply!r}")
    return state in ACTIVE_STATES


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
