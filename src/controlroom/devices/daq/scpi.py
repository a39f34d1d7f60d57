"""SCPI conventions for the DAQ simulator (pure, no I/O).

Headers match as on the instrument: case-insensitive, each mnemonic in its
short form (``SENS``) or long form (``SENSE``), optional nodes (``[SENSe]``)
given or left out. A line holds message units separated by ``;``, each taken
from the root (a leading ``:`` is optional); the replies of its queries are
joined with ``;``. A unit that fails gives no reply and queues a numbered
error, read oldest first with ``SYST:ERR?``. Handlers are found in a table,
never by reflection.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from controlroom.devices.daq.replies import NO_ERROR_REPLY, DaqError

QUEUE_DEPTH = 20
ERROR_TEXT = {
    -100: "Command error",
    -102: "Syntax error",
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
_MNEMONIC = re.compile(r"(\*?[A-Z0-9]+)([a-z]*)")


class ScpiError(DaqError):
    """A message unit the instrument refuses, with its SCPI error number."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        text = ERROR_TEXT.get(code, "Error")
        self.text = f"{text}; {detail}" if detail else text
        super().__init__(f"{code},{self.text}")

    def entry(self) -> str:
        """The line ``SYST:ERR?`` answers for this error."""
        return f'{self.code:+d},"{self.text}"'


class ErrorQueue:
    """First in, first out; when full, the newest entry becomes "Queue overflow"."""

    def __init__(self) -> None:
        self._entries: collections.deque[str] = collections.deque()

    def push(self, error: ScpiError) -> None:
        if len(self._entries) >= QUEUE_DEPTH:
            self._entries[-1] = ScpiError(-350).entry()
        else:
            self._entries.append(error.entry())

    def pop(self) -> str:
        return self._entries.popleft() if self._entries else NO_ERROR_REPLY

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


S = TypeVar("S")
Handler = Callable[[S, list[str]], "str | None"]


def header_regex(spec: str) -> str:
    """``"[SENSe]:TEMPerature:NPLC?"`` → a regex for every spelling of that header.

    Nodes are separated by ``:``; an optional node is bracketed on its own
    (``SYSTem:ERRor:[NEXT]?``).
    """
    query = spec.endswith("?")
    nodes = spec.rstrip("?").split(":")
    parts: list[str] = []
    for position, node in enumerate(nodes):
        optional = node.startswith("[")
        match = _MNEMONIC.fullmatch(node.strip("[]"))
        if match is None:
            raise ValueError(f"bad mnemonic {node!r} in {spec!r}")
        short, rest = match[1], match[2].upper()
        word = re.escape(short) + (f"(?:{rest})?" if rest else "")
        joined = (":" + word) if position else word
        parts.append(f"(?:{joined})?" if optional else joined)
    pattern = "".join(parts)
    if nodes[0].startswith("["):  # a leading optional node takes its colon with it
        pattern = pattern.replace(")?:", ":)?", 1)
    return pattern + (r"\?" if query else "")


class CommandTable(Generic[S]):
    """Headers (SCPI spelling specs) to handlers; lookup tries every spelling."""

    def __init__(self, entries: Iterable[tuple[str, Handler[S]]]) -> None:
        self._entries = [
            (re.compile(header_regex(spec), re.IGNORECASE), handler) for spec, handler in entries
        ]

    def lookup(self, header: str) -> Handler[S]:
        for pattern, handler in self._entries:
            if pattern.fullmatch(header):
                return handler
        raise ScpiError(-113, header)


def split_outside(text: str, separator: str) -> list[str]:
    """Split at ``separator`` except inside double quotes and parentheses."""
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


def execute(line: str, table: CommandTable[S], state: S, errors: ErrorQueue) -> str | None:
    """Run every message unit of ``line``; return the joined replies, or None if there are none."""
    replies: list[str] = []
    for unit in split_outside(line, ";"):
        if not unit.strip():
            continue
        try:
            header, _, rest = unit.strip().lstrip(":").partition(" ")
            args = [arg.strip() for arg in split_outside(rest, ",")] if rest.strip() else []
            reply = table.lookup(header.strip())(state, args)
        except ScpiError as error:
            errors.push(error)
            continue
        if reply is not None:
            replies.append(reply)
    return ";".join(replies) if replies else None


def expect(args: list[str], count: int) -> list[str]:
    """Check the number of parameters: too few is -109, too many -108."""
    if len(args) < count:
        raise ScpiError(-109)
    if len(args) > count:
        raise ScpiError(-108)
    return args


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ScpiError(-224, f"not a number: {text!r}") from None


def keyword(text: str, choices: dict[str, str]) -> str:
    """``"cel"`` → ``"C"`` given ``{"CEL": "C", ...}``; anything else is -224."""
    try:
        return choices[text.strip().strip('"').upper()]
    except KeyError:
        raise ScpiError(-224, f"{text!r} is not one of {', '.join(choices)}") from None
