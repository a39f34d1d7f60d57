"""The PMAC's ASCII command language, as far as the PUNA's host software uses it (pure).

A line holds commands separated by spaces: ``&2`` addresses coordinate system
2 (the hexapod's), ``Q20=11`` sets a variable, ``Q53`` reads one, ``Q53,6,1``
reads six at steps of one, ``$$$`` resets the controller, ``VERSION`` and
``CID`` identify the card. Every value read is sent followed by CR; the server
ends the reply with ACK. A command the PMAC does not understand answers BEL
``ERR003`` CR and the rest of its line is dropped. Q variables of the other
coordinate systems are plain memory: nothing of the hexapod's reads them.
"""

from __future__ import annotations

import logging
import math
import re

from controlroom.devices.hexapod.sim.controller import SimulatedController

_LOG = logging.getLogger(__name__)

CR = "\r"
BELL = "\x07"
ERR_SYNTAX = 3  # the PMAC's "illegal command or data"
HEXAPOD_CS = 2
MAX_Q = 8191
MAX_COUNT = 64

_TOKEN = re.compile(
    r"&(?P<cs>\d{1,2})"
    r"|Q(?P<q>\d{1,4})(?:=(?P<value>[-+0-9.eE]+)|,(?P<count>\d{1,3}),(?P<step>\d{1,3}))?"
    r"|(?P<word>\$\$\$|[A-Z]+)",
    re.IGNORECASE,
)


class PmacError(Exception):
    def __init__(self, number: int, detail: str) -> None:
        super().__init__(f"ERR{number:03d}: {detail}")
        self.number = number


def format_value(value: float) -> str:
    """As a PMAC prints a variable: ``0``, ``-2``, ``12.5``, ``238.246487``."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Terminal:
    """Runs command lines against a :class:`SimulatedController`."""

    def __init__(self, controller: SimulatedController, *, firmware: str = "1.947") -> None:
        self.controller = controller
        self.firmware = firmware
        self.card_id = 603382  # a Geo Brick, the card in a PUNA controller
        self._other: dict[tuple[int, int], float] = {}

    def execute(self, line: str, now: float) -> str:
        """The reply to ``line`` at simulated time ``now``, without the final ACK."""
        replies: list[str] = []
        cs = 1  # the PMAC's default; the host addresses the hexapod's with &2
        try:
            for token in line.split():
                match = _TOKEN.fullmatch(token)
                if match is None:
                    raise PmacError(ERR_SYNTAX, repr(token))
                if match["cs"] is not None:
                    cs = int(match["cs"])
                elif match["q"] is not None:
                    replies += self._variable(cs, match, now)
                else:
                    replies += self._word(match["word"].upper(), now)
        except PmacError as exc:
            _LOG.info("refused %r: %s", line, exc)
            replies.append(f"{BELL}ERR{exc.number:03d}")
        return "".join(reply + CR for reply in replies)

    def _variable(self, cs: int, match: re.Match[str], now: float) -> list[str]:
        first = int(match["q"])
        if match["value"] is not None:
            self._write(cs, first, _number(match["value"]), now)
            return []
        count, step = (int(match["count"]), int(match["step"])) if match["count"] else (1, 1)
        if not 1 <= count <= MAX_COUNT or step < 1:
            raise PmacError(ERR_SYNTAX, f"Q{first},{count},{step}")
        numbers = [first + n * step for n in range(count)]
        if numbers[-1] > MAX_Q:
            raise PmacError(ERR_SYNTAX, f"Q{numbers[-1]}")
        return [format_value(self._read(cs, q, now)) for q in numbers]

    def _read(self, cs: int, q: int, now: float) -> float:
        if cs == HEXAPOD_CS:
            return self.controller.read(q, now)
        return self._other.get((cs, q), 0.0)

    def _write(self, cs: int, q: int, value: float, now: float) -> None:
        if q > MAX_Q:
            raise PmacError(ERR_SYNTAX, f"Q{q}")
        if cs == HEXAPOD_CS:
            self.controller.write(q, value, now)
        else:
            self._other[(cs, q)] = value

    def _word(self, word: str, now: float) -> list[str]:
        if word == "$$$":
            _LOG.warning("reset ($$$): the controller reboots")
            self.controller.reset(now)
            return []
        if word == "VERSION":
            return [self.firmware]
        if word == "CID":
            return [str(self.card_id)]
        raise PmacError(ERR_SYNTAX, word)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PmacError(ERR_SYNTAX, repr(text)) from None
    if not math.isfinite(value):
        raise PmacError(ERR_SYNTAX, repr(text))
    return value
