"""The line grammar sensor nodes speak to the bridge (after COSMICi).

One message per line, UTF-8, ended by ``\\n`` (a ``\\r`` before it is dropped);
words are separated by blanks; the first word says what the line is (any case)::

    HELLO <node-id> <node-type> [key=value ...]   introduction, the first line
    HB <t>                                        heartbeat; t: the node's clock (a number)
    STATUS key=value [key=value ...]              the node's state, e.g. STATUS hv=1250 temp=31.5
    LOG <level> <text ...>                        DEBUG, INFO, WARNING, ERROR or CRITICAL
    DATA <kind> <t_ns> <field ...>                a measurement, e.g. DATA PULSE <t_ns> <ch> <w_ns>

* ``node-id``: 1-32 of ``a-z 0-9 _ . -`` starting with a letter or digit; it is
  folded to lower case (ids are column names, where case does not separate);
* ``node-type``: 1-32 of ``a-z 0-9 _ -`` starting with a letter (folded too): it
  picks the parser of the node's DATA lines (:mod:`.parsers`);
* ``key``: a letter, then up to 47 of ``a-z 0-9 _`` (folded); values are one
  word each, read as a 64-bit integer, a finite float, or else kept as text
  (so every stored value fits the wire and the storage backends);
* ``kind``: a letter, then up to 31 of ``A-Z 0-9 _`` (folded to upper case);
* ``t_ns``: the node's timestamp of the measurement, integer nanoseconds, 0 to
  2**63 - 1 (since the Unix epoch for a GPS-disciplined node; kept as sent).

Empty lines are ignored. Anything else is a :class:`LineError` naming what was
wrong; the bridge counts it and goes on reading.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from controlroom.bridges.nodes.errors import LineError

Scalar = int | float | str


@dataclass(frozen=True, slots=True)
class _Name:
    """A word that names something: folded to one case, then checked against ``pattern``."""

    what: str  # in the error, before the word as sent
    pattern: re.Pattern[str]
    rule: str  # in the error, after it
    fold: Callable[[str], str] = str.lower

    def read(self, word: str) -> str:
        folded = self.fold(word)
        if not self.pattern.match(folded):
            raise LineError(f"{self.what} {word!r}: {self.rule}")
        return folded


_NODE_ID = _Name(
    "node id", re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}\Z"), "use 1-32 of a-z 0-9 _ . - (not first)"
)
_NODE_TYPE = _Name(
    "node type", re.compile(r"[a-z][a-z0-9_-]{0,31}\Z"), "a letter, then up to 31 of a-z 0-9 _ -"
)
_KIND = _Name(
    "DATA kind",
    re.compile(r"[A-Z][A-Z0-9_]{0,31}\Z"),
    "a letter, then up to 31 of A-Z 0-9 _",
    str.upper,
)
_KEY = re.compile(r"[a-z][a-z0-9_]{0,47}\Z")
# A wider integer cannot be sent to storage: one such row would wedge its queue.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
LEVELS = {
    name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
}


@dataclass(frozen=True, slots=True)
class Hello:
    node_id: str
    node_type: str
    details: dict[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    source_time: float


@dataclass(frozen=True, slots=True)
class Status:
    values: dict[str, Scalar]


@dataclass(frozen=True, slots=True)
class LogLine:
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Data:
    kind: str
    t_ns: int
    fields: list[str]


Line = Hello | Heartbeat | Status | LogLine | Data
KINDS = ("HELLO", "HB", "STATUS", "LOG", "DATA")


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def scalar(word: str) -> Scalar:
    """``word`` as a 64-bit int, else a finite float, else the text itself."""
    try:
        integer = int(word)
    except ValueError:
        pass
    else:
        return integer if fits_int64(integer) else word
    try:
        number = float(word)
    except ValueError:
        return word
    return number if math.isfinite(number) else word


def node_id(text: str) -> str:
    """``text`` folded to a valid node id, else a :class:`LineError`."""
    return _NODE_ID.read(text)


def pairs(words: list[str], what: str) -> dict[str, Scalar]:
    """``key=value`` words as a map (keys folded to lower case)."""
    values: dict[str, Scalar] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.lower()
        if not sep or not _KEY.match(key) or not value:
            raise LineError(f"{what}: {word!r} is not key=value (key: a letter, then a-z 0-9 _)")
        values[key] = scalar(value)
    return values


def _hello(words: list[str]) -> Hello:
    if len(words) < 2:
        raise LineError("HELLO needs <node-id> <node-type>")
    node_type = _NODE_TYPE.read(words[1])
    return Hello(node_id(words[0]), node_type, pairs(words[2:], "HELLO"))


def _heartbeat(words: list[str]) -> Heartbeat:
    if len(words) != 1:
        raise LineError("HB needs exactly one <t>")
    value = scalar(words[0])
    if isinstance(value, str):
        raise LineError(f"HB time {words[0]!r} is not a number")
    return Heartbeat(float(value))


def _status(words: list[str]) -> Status:
    if not words:
        raise LineError("STATUS needs at least one key=value")
    return Status(pairs(words, "STATUS"))


def _log(words: list[str], rest: str) -> LogLine:
    if not words:
        raise LineError("LOG needs <level> <text>")
    level = LEVELS.get(words[0].upper())
    if level is None:
        raise LineError(f"LOG level {words[0]!r}: one of {', '.join(LEVELS)}")
    return LogLine(level, rest.split(None, 1)[1] if len(words) > 1 else "")


def _data(words: list[str]) -> Data:
    if len(words) < 2:
        raise LineError("DATA needs <kind> <t_ns> [fields]")
    kind = _KIND.read(words[0])
    try:
        t_ns = int(words[1])
    except ValueError:
        raise LineError(f"DATA time {words[1]!r} is not integer nanoseconds") from None
    if t_ns < 0:
        raise LineError(f"DATA time {t_ns} is negative")
    if not fits_int64(t_ns):
        raise LineError(f"DATA time {words[1][:24]!r} is beyond 64-bit nanoseconds")
    return Data(kind, t_ns, words[2:])


def parse_line(text: str) -> Line | None:
    """One line (without its newline) as a :data:`Line`; None for an empty line."""
    head, _, rest = text.strip().partition(" ")
    if not head:
        return None
    keyword = head.upper()
    words = rest.split()
    if keyword == "DATA":  # first: nearly every line is one
        return _data(words)
    if keyword == "HB":
        return _heartbeat(words)
    if keyword == "STATUS":
        return _status(words)
    if keyword == "LOG":
        return _log(words, rest.strip())
    if keyword == "HELLO":
        return _hello(words)
    shown = head if len(head) <= 20 else head[:20] + "..."
    raise LineError(f"unknown line kind {shown!r}: expected one of {', '.join(KINDS)}")
