"""SCPI conventions for the power-supply simulator (pure, no I/O).

Headers are matched as instruments match them: case-insensitive, each
mnemonic in its short form (``VOLT``) or long form (``VOLTAGE``), optional
nodes (``[SOURce:]VOLTage[:LEVel]``) left out or given. A line holds several
message units separated by ``;``; each is taken from the root (a leading ``:``
is optional), and the replies of the queries are joined with ``;``. A unit that
fails gives no reply and puts a numbered error in the error queue, read with
``SYST:ERR?``, oldest first. Handlers are found in a table, never by reflection.
"""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

NO_ERROR = (0, "No error")
QUEUE_DEPTH = 10
QUEUE_OVERFLOW = (-350, "Queue overflow")

STANDARD_ERRORS = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
}

_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(M?[VAS])?", re.IGNORECASE)
_KEYWORDS = {"MIN": "MIN", "MINIMUM": "MIN", "MAX": "MAX", "MAXIMUM": "MAX", "DEF": "DEF"}
_KEYWORDS["DEFAULT"] = "DEF"


class ScpiError(Exception):
    """A command the instrument refuses, with its SCPI error number."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        text = STANDARD_ERRORS.get(code, "Error")
        self.text = f"{text};{detail}" if detail else text
        super().__init__(f"{code},{self.text}")


class ErrorQueue:
    """The instrument's error queue: first in, first out, at most ``QUEUE_DEPTH`` entries.

    When it is full the newest entry is replaced by "Queue overflow", as SCPI
    requires, so the oldest errors (usually the cause) are kept.
    """

    def __init__(self) -> None:
        self._entries: collections.deque[tuple[int, str]] = collections.deque()

    def push(self, code: int, text: str) -> None:
        if len(self._entries) >= QUEUE_DEPTH:
            self._entries[-1] = QUEUE_OVERFLOW
            return
        self._entries.append((code, text))

    def pop(self) -> tuple[int, str]:
        return self._entries.popleft() if self._entries else NO_ERROR

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def format_error(entry: tuple[int, str]) -> str:
    code, text = entry
    return f'{code},"{text}"'


S = TypeVar("S")
Handler = Callable[[S, list[str]], "str | None"]


@dataclass(frozen=True)
class Command(Generic[S]):
    """One header pattern, e.g. ``[SOURce:]VOLTage[:LEVel]?``, and what runs it.

    ``cost`` names how long the instrument takes: ``"setting"``, ``"query"`` or
    ``"measure"`` (an A/D conversion).
    """

    pattern: str
    handler: Handler[S]
    cost: str = "setting"

    @property
    def is_query(self) -> bool:
        return self.pattern.endswith("?")


class CommandTable(Generic[S]):
    """Commands by header pattern; :meth:`find` matches a header sent by a client."""

    def __init__(self, commands: Iterable[Command[S]]) -> None:
        self._compiled = [(compile_pattern(c.pattern), c) for c in commands]

    def find(self, header: str) -> Command[S]:
        for regex, cmd in self._compiled:
            if regex.fullmatch(header):
                return cmd
        raise ScpiError(-113)  # the caller logs the unit it came from


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``[SOURce:]VOLTage:PROTection[:LEVel]?`` → a regex over headers such as ``VOLT:PROT?``."""
    query = pattern.endswith("?")
    body = pattern.rstrip("?")
    parts: list[str] = []
    for optional, node in re.findall(r"(\[?)[:]?([*A-Za-z]+)[:]?\]?", body):
        mnemonic = _mnemonic(node)
        parts.append(f"(?::{mnemonic})?" if optional else f":{mnemonic}")
    regex = "".join(parts) + (r"\?" if query else "")
    return re.compile(regex, re.IGNORECASE)


def _mnemonic(node: str) -> str:
    short = "".join(c for c in node if c.isupper() or c == "*")
    long_form = node.upper()
    if short == long_form:
        return re.escape(long_form)
    return f"(?:{re.escape(long_form)}|{re.escape(short)})"


def split_units(line: str) -> list[str]:
    """The message units of a line, without separators; empty units dropped."""
    return [unit.strip() for unit in line.split(";") if unit.strip()]


def split_unit(unit: str) -> tuple[str, list[str]]:
    """``":volt 5, max"`` → (``":VOLT"``, ``["5", "max"]``); the header always starts with ``:``."""
    header, _, rest = unit.strip().partition(" ")
    header = header if header.startswith(":") else ":" + header
    args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    if any(not a for a in args):
        raise ScpiError(-102, "empty parameter")
    return header.upper(), args


def expect(args: list[str], count: int) -> list[str]:
    if len(args) < count:
        raise ScpiError(-109)
    if len(args) > count:
        raise ScpiError(-108)
    return args


def to_number(text: str, low: float, high: float, *, default: float | None = None) -> float:
    """A numeric parameter: ``5``, ``5.0``, ``5V``, ``500mV``, ``MIN``, ``MAX`` or ``DEF``."""
    keyword = _KEYWORDS.get(text.upper())
    if keyword == "MIN":
        return low
    if keyword == "MAX":
        return high
    if keyword == "DEF":
        return low if default is None else default
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ScpiError(-104, text)
    value = float(match.group(1))
    if (match.group(2) or "").upper().startswith("M"):
        value /= 1000.0
    if not math.isfinite(value):
        raise ScpiError(-104, text)
    if not low <= value <= high:
        raise ScpiError(-222, f"{value:g} is outside {low:g} to {high:g}")
    return value


def to_bool(text: str) -> bool:
    """A boolean parameter: ``ON``, ``OFF``, ``1`` or ``0``."""
    upper = text.strip().upper()
    if upper in ("ON", "1"):
        return True
    if upper in ("OFF", "0"):
        return False
    raise ScpiError(-224, text)


def format_bool(value: bool) -> str:
    return "1" if value else "0"
