"""The command engine of a simulated SCPI instrument (pure, no I/O).

Headers are matched as instruments match them: case-insensitive, each
mnemonic in its short form (``VOLT``) or long form (``VOLTAGE``), optional
nodes (``[SOURce:]VOLTage[:LEVel]``) left out or given. A line holds several
message units separated by ``;`` (not inside quotes or parentheses); each is
taken from the root (a leading ``:`` is optional), and the replies of the
queries are joined with ``;``. A unit that fails gives no reply, sets its
IEEE 488.2 event bit and, on an instrument with an error queue, queues a
numbered entry read oldest first with ``SYST:ERR?``. Handlers are found in a
table, never by reflection.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

_LOG = logging.getLogger(__name__)

ESR_OPC = 1
ESR_QYE = 4
ESR_DDE = 8
ESR_EXE = 16
ESR_CME = 32
STB_ESB = 32
STB_MSS = 64

ERROR_TEXT = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -213: "Init ignored",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
}


class ScpiError(Exception):
    """A message unit the instrument refuses, with its SCPI error number."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code},{ERROR_TEXT.get(code, 'Error')}{';' if detail else ''}{detail}")
        self.code = code
        self.detail = detail


def event_bit(code: int) -> int:
    """The event status bit an error number sets (the IEEE 488.2 groups)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -399 <= code <= -300:
        return ESR_DDE
    return ESR_QYE


@dataclass(frozen=True)
class ErrorWording:
    """How a manufacturer writes an error queue entry: ``-222,"Data out of range;40 V"``.

    ``signed`` writes ``+0`` for no error (Keithley); ``separator`` goes between
    the standard text and the detail; ``names_header`` adds the unknown header
    as the detail of -113.
    """

    depth: int = 10
    signed: bool = False
    separator: str = ";"
    names_header: bool = False

    def entry(self, code: int, detail: str = "") -> str:
        text = ERROR_TEXT.get(code, "Error") + (self.separator + detail if detail else "")
        return f'{code:+d},"{text}"' if self.signed else f'{code},"{text}"'


class ErrorQueue:
    """First in, first out; when full the newest entry becomes "Queue overflow", as SCPI
    requires, so the oldest errors (usually the cause) are kept."""

    def __init__(self, wording: ErrorWording = ErrorWording()) -> None:
        self.wording = wording
        self._entries: collections.deque[str] = collections.deque()

    def push(self, error: ScpiError) -> None:
        if len(self._entries) >= self.wording.depth:
            self._entries[-1] = self.wording.entry(-350)
            return
        detail = error.detail if error.code != -113 or self.wording.names_header else ""
        self._entries.append(self.wording.entry(error.code, detail))

    def pop(self) -> str:
        return self._entries.popleft() if self._entries else self.wording.entry(0, "")

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class Status:
    """IEEE 488.2 status: the event status register, its enable masks and the error queue.

    An instrument without an error queue (``errors=None``) reports errors by
    the event bits alone.
    """

    errors: ErrorQueue | None = None
    esr: int = 0
    ese: int = 0
    sre: int = 0

    def record(self, error: ScpiError) -> None:
        if self.errors is not None:
            self.errors.push(error)
        self.esr |= event_bit(error.code)

    def clear(self) -> None:
        """``*CLS``: empty the error queue and the event status register."""
        if self.errors is not None:
            self.errors.clear()
        self.esr = 0

    def read_esr(self) -> int:
        """The event register, cleared by reading it, as ``*ESR?`` does."""
        value, self.esr = self.esr, 0
        return value

    def status_byte(self) -> int:
        """``*STB?``: ESB when an enabled event is pending, MSS when an enabled summary is set."""
        summary = STB_ESB if self.esr & self.ese else 0
        return summary | (STB_MSS if summary & self.sre else 0)


class HasStatus(Protocol):
    """Any instrument state the engine and the common commands work on."""

    status: Status


S = TypeVar("S", bound=HasStatus)
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
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_pattern(self.pattern))


def setting_and_query(
    pattern: str, setter: Handler[S], query: Handler[S]
) -> tuple[Command[S], Command[S]]:
    """A setting and the query that reads it back: ``pattern`` and ``pattern?``."""
    return Command(pattern, setter), Command(pattern + "?", query, "query")


class CommandTable(Generic[S]):
    """Commands by header pattern; :meth:`find` matches a header sent by a client."""

    def __init__(self, commands: Iterable[Command[S]]) -> None:
        self._commands = list(commands)

    def find(self, header: str) -> Command[S]:
        for command in self._commands:
            if command.regex.fullmatch(header):
                return command
        raise ScpiError(-113, header.lstrip(":"))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``[SOURce:]VOLTage:PROTection[:LEVel]?`` → a regex over headers such as ``:VOLT:PROT?``."""
    query = pattern.endswith("?")
    parts: list[str] = []
    for optional, node in re.findall(r"(\[?):?([*A-Za-z]+):?\]?", pattern.rstrip("?")):
        mnemonic = _mnemonic(node)
        parts.append(f"(?::{mnemonic})?" if optional else f":{mnemonic}")
    return re.compile("".join(parts) + (r"\?" if query else ""), re.IGNORECASE)


def _mnemonic(node: str) -> str:
    short = "".join(c for c in node if c.isupper() or c == "*")
    long_form = node.upper()
    if short == long_form:
        return re.escape(long_form)
    return f"(?:{re.escape(long_form)}|{re.escape(short)})"


def split_outside(text: str, separator: str) -> list[str]:
    """Split at ``separator`` except inside double quotes and parentheses (channel lists)."""
    parts: list[str] = []
    current: list[str] = []
    quoted, depth = False, 0
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        if char == separator and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def split_unit(unit: str) -> tuple[str, list[str]]:
    """``"volt 5, max"`` → (``":volt"``, ``["5", "max"]``); the header always starts with ``:``."""
    header, _, rest = unit.strip().partition(" ")
    header = header if header.startswith(":") else ":" + header
    args = [arg.strip() for arg in split_outside(rest, ",")] if rest.strip() else []
    if any(not arg for arg in args):
        raise ScpiError(-102, "empty parameter")
    return header, args


def execute(
    line: str,
    table: CommandTable[S],
    state: S,
    *,
    settle: Callable[[S], None] | None = None,
    split: Callable[[str], tuple[str, list[str]]] = split_unit,
) -> tuple[str | None, list[str]]:
    """Run every message unit of ``line``: the joined replies, and the cost of each unit run.

    ``settle`` lets the model react to what a unit changed before the next one reads it;
    ``split`` parses a unit of an instrument whose syntax is not SCPI's (Lake Shore).
    """
    replies: list[str] = []
    costs: list[str] = []
    for unit in split_outside(line, ";"):
        if not unit.strip():
            continue
        try:
            header, args = split(unit)
            command = table.find(header)
            costs.append(command.cost)
            reply = command.handler(state, args)
            if settle is not None:
                settle(state)
        except ScpiError as error:
            state.status.record(error)
            _LOG.info("error %s in %r", error, unit)
            continue
        if reply is not None:
            replies.append(reply)
    return (";".join(replies) if replies else None), costs
