"""Reading what instruments answer: numbers, flags, and the refusals they report.

Parse hooks for ``@command(parse=...)`` and the SCPI error-queue convention: a
setting sent as ``*CLS;:<setting>;:SYST:ERR?`` answers with its own error
entry, so a refused setting raises :class:`CommandRefused` in the same
exchange, and a query sent the same way answers ``<reply>;<entry>``.
"""

from __future__ import annotations

import math

from controlroom.device.errors import ReplyError


class CommandRefused(ReplyError):
    """The instrument refused a command: its error queue, event register or reply says so.

    ``code`` and ``message`` are the instrument's own error entry when it gives one.
    """

    def __init__(self, description: str, *, code: int = 0, message: str = "") -> None:
        super().__init__(description)
        self.code = code
        self.message = message


def parse_float(reply: str) -> float:
    try:
        return float(reply)
    except ValueError:
        raise ReplyError(f"expected a number from the instrument, got {reply!r}") from None


def parse_floats(reply: str) -> list[float]:
    """``1.5,2,3e-3`` → ``[1.5, 2.0, 0.003]``."""
    return [parse_float(part) for part in reply.split(",")]


def parse_int(reply: str) -> int:
    """A whole number, also written as a real: ``3``, ``+3``, ``+3.000000E+00``."""
    try:
        value = float(reply)
    except ValueError:
        value = math.nan
    if not value.is_integer():
        raise ReplyError(f"expected an integer from the instrument, got {reply!r}")
    return int(value)


SCPI_BOOLEANS = {"1": True, "ON": True, "0": False, "OFF": False}
"""How SCPI writes a boolean, in replies and in parameters alike (upper case)."""


def parse_bool(reply: str) -> bool:
    """``1``/``ON`` → True, ``0``/``OFF`` → False."""
    try:
        return SCPI_BOOLEANS[reply.strip().upper()]
    except KeyError:
        expected = "expected 0 or 1 (ON or OFF) from the instrument"
        raise ReplyError(f"{expected}, got {reply!r}") from None


def parse_error(reply: str) -> tuple[int, str]:
    """A ``SYST:ERR?`` entry: ``-222,"Data out of range"`` → ``(-222, "Data out of range")``."""
    code, _, message = reply.strip().partition(",")
    try:
        return int(code), message.strip().strip('"')
    except ValueError:
        raise ReplyError(f"expected an error queue entry, got {reply!r}") from None


def check_error(reply: str) -> None:
    """Raise :class:`CommandRefused` if the ``SYST:ERR?`` that ends a setting is not 0."""
    code, message = parse_error(reply)  # the only query of the line: ";" may be in the text
    if code != 0:
        raise CommandRefused(
            f"the instrument refused the command: {code} {message}", code=code, message=message
        )


def split_checked(reply: str) -> str:
    """Split ``<answer>;<SYST:ERR? entry>``; raise if the entry is not 0, return the answer.

    A query the instrument refuses gives no answer, so the reply is then the entry alone.
    """
    cut = _last_unquoted(reply, ";")
    if cut < 0:
        check_error(reply)
        raise ReplyError(f"the instrument answered only the error query: {reply!r}")
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
