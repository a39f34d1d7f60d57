"""Reading what the supply answers: numbers, switches, regulation modes and error entries."""

from __future__ import annotations

import enum

from controlroom.device import ReplyError


class OutputMode(enum.Enum):
    """What regulates an output: its voltage setting, its current limit, or nothing (off)."""

    CV = "CV"
    CC = "CC"
    OFF = "OFF"


class CommandRefused(ReplyError):
    """The supply put an error in its queue for a setting (``SYST:ERR?`` was not 0)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"the supply refused the setting: {code} {message}")
        self.code = code
        self.message = message


def parse_error(reply: str) -> tuple[int, str]:
    """``-222,"Data out of range"`` → ``(-222, "Data out of range")``."""
    code, _, message = reply.strip().partition(",")
    try:
        return int(code), message.strip().strip('"')
    except ValueError:
        raise ReplyError(f"expected an error queue entry from the supply, got {reply!r}") from None


def check_error(reply: str) -> None:
    """Raise if the ``SYST:ERR?`` that ends a setting is not ``0,"No error"``."""
    code, message = parse_error(reply)  # the only query of the line: ";" may be in the text
    if code != 0:
        raise CommandRefused(code, message)


def parse_float(reply: str) -> float:
    try:
        return float(reply)
    except ValueError:
        raise ReplyError(f"expected a number from the supply, got {reply!r}") from None


def parse_bool(reply: str) -> bool:
    text = reply.strip().upper()
    if text in ("1", "ON"):
        return True
    if text in ("0", "OFF"):
        return False
    raise ReplyError(f"expected 0 or 1 from the supply, got {reply!r}")


def parse_mode(reply: str) -> OutputMode:
    try:
        return OutputMode(reply.strip().upper())
    except ValueError:
        raise ReplyError(f"expected CV, CC or OFF from the supply, got {reply!r}") from None
