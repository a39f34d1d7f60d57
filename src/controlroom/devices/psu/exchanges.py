"""How the HMP4040 driver builds its one-line exchanges and reads the CV/CC status.

The HMP4040 applies ``VOLT``, ``CURR``, ``OUTP`` and ``FUSE`` to the
*selected* channel, so selecting and setting as two exchanges would let
another client (or the HK poll) slip in between. Every channel command is
therefore one line, ``INST:NSEL <n>;:<command>``, and every setting also
starts with ``*CLS`` and ends with ``SYST:ERR?``, so the error read back is the
setting's own and a refused setting raises
:class:`~controlroom.device.replies.CommandRefused` in the same exchange.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from controlroom.device import ReplyError
from controlroom.device.replies import check_error, parse_bool, parse_float, parse_int

CC_BIT, CV_BIT = 1 << 0, 1 << 1
"""Bits of ``STAT:QUES:INST:ISUM<n>:COND?``: the channel is in constant current / voltage."""


class OutputMode(enum.Enum):
    """What regulates an output: its voltage setting, its current limit, or nothing (off)."""

    CV = "CV"
    CC = "CC"
    OFF = "OFF"


def parse_condition(reply: str) -> OutputMode:
    """The regulation a channel's status condition register reports."""
    try:
        bits = parse_int(reply)
    except ReplyError:
        raise ReplyError(f"expected a status condition from the supply, got {reply!r}") from None
    if bits & CC_BIT:
        return OutputMode.CC
    return OutputMode.CV if bits & CV_BIT else OutputMode.OFF


def on_off(value: bool) -> str:
    return "ON" if value else "OFF"


def setting(template: str) -> dict[str, Any]:
    """A ``@command`` for a setting of one channel, checked in the same exchange."""
    return {
        "kind": "transaction",
        "cmd": f"*CLS;:INST:NSEL $channel;:{template};:SYST:ERR?",
        "check": check_error,
    }


def checked(line: str) -> str:
    """A setting of the whole supply, checked in the same exchange."""
    return f"*CLS;:{line};:SYST:ERR?"


def switch(header: str) -> Callable[..., str]:
    """``prepare`` for ``<header> ON|OFF`` on one channel."""

    def prepare(channel: int, on: bool) -> str:
        return checked(f"INST:NSEL {channel};:{header} {on_off(on)}")

    return prepare


def channel_query(command_text: str) -> str:
    return f"INST:NSEL $channel;:{command_text}"


SAMPLED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "MEAS:VOLT?": ("voltage", parse_float),
    "MEAS:CURR?": ("current", parse_float),
    "OUTP:STAT?": ("output", parse_bool),
    "STAT:QUES:INST:ISUM{channel}:COND?": ("mode", lambda r: parse_condition(r).value),
    "VOLT:PROT:TRIP?": ("ovp_tripped", parse_bool),
    "FUSE:TRIP?": ("ocp_tripped", parse_bool),
}
"""What each sampled query is called in housekeeping and status, and how its reply reads."""

HK_QUERIES = tuple(SAMPLED)[:4]
TRIP_QUERIES = tuple(SAMPLED)[4:]


def sample_line(channels: tuple[int, ...], queries: tuple[str, ...]) -> str:
    """One line that selects each channel in turn and asks ``queries`` of it."""
    return ";:".join(
        f"INST:NSEL {ch};:" + ";:".join(q.format(channel=ch) for q in queries) for ch in channels
    )
