"""The pipe-command protocol as text, with no I/O: request lines in, reply lines out.

A request is one line: ``Device|command arg ...``. The arguments are split
like a shell would (``"two words"`` or ``'two words'`` is one value, a
backslash escapes outside single quotes) and never evaluated. Two lines are
not device requests: ``TOKEN <token>`` opens a session on a server that has
a token, and ``PING`` answers ``OK pong``. Blank lines are ignored.

A reply is one line, ``OK`` or ``OK <value>`` or ``ERR <message>``:

* no value (``None``): ``OK`` alone;
* true/false: ``true`` / ``false``; numbers as text (``120.0``, ``3``,
  ``nan``, ``inf``);
* text: as is, unless it is empty, has line breaks or control characters,
  or starts or ends with a space; then as a JSON string (``"..."``);
* anything structured (lists, maps, arrays): compact JSON on the one line
  (``{"a":1,"b":[1,2]}``); enums as their values, times as ISO 8601.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
from typing import Any

from controlroom.bridges.pipe.errors import RequestRefused
from controlroom.wire.jsondata import jsonable

TOKEN_WORD = "TOKEN"  # noqa: S105 -- the keyword, not a secret
PING_WORD = "PING"
MAX_MESSAGE_CHARS = 1000  # an ERR line stays readable in a terminal and a LabVIEW string
_SEPARATOR = "|"


@dataclasses.dataclass(frozen=True)
class DeviceRequest:
    """``Device|command arg ...`` split into its parts; ``words`` are the raw arguments."""

    device: str
    command: str
    words: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TokenRequest:
    """``TOKEN <token>``: the client proves it may use the server."""

    token: str


@dataclasses.dataclass(frozen=True)
class PingRequest:
    """``PING``: is the pipe server itself alive?"""


Request = DeviceRequest | TokenRequest | PingRequest


def decode_line(raw: bytes) -> str:
    """The text of one received line, without its line ending; refuses what is not text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused("request is not UTF-8 text") from None
    text = text.rstrip("\r\n")
    if any(ch < " " and ch != "\t" for ch in text):
        raise RequestRefused("request contains control characters")
    return text.strip()


def parse_request(text: str) -> Request:
    """One non-blank request line as a :data:`Request`."""
    keyword, _, rest = text.partition(" ")
    if keyword.upper() == TOKEN_WORD:
        return TokenRequest(rest.strip())
    if text.upper() == PING_WORD:
        return PingRequest()
    device, separator, call = text.partition(_SEPARATOR)
    if not separator:
        raise RequestRefused(f"expected Device|command arg ..., got {shorten(text, 80)!r}")
    device = device.strip()
    if not device:
        raise RequestRefused("no device name before '|'")
    try:
        words = shlex.split(call, comments=False, posix=True)
    except ValueError as exc:  # shlex says "No closing quotation" and the like
        raise RequestRefused(f"bad quoting: {str(exc).lower()}") from None
    if not words:
        raise RequestRefused(f"no command after '{device}|'")
    return DeviceRequest(device, words[0], tuple(words[1:]))


def ok_line(value: Any) -> str:
    """The reply for a result (see the module docstring for the format)."""
    text = format_value(value)
    return "OK" if text is None else f"OK {text}"


def err_line(message: str) -> str:
    """The reply for a failure: one line, control characters flattened, length capped."""
    flat = " ".join(message.split())
    return f"ERR {shorten(flat, MAX_MESSAGE_CHARS) or 'failed'}"


def format_value(value: Any) -> str | None:
    """A result as the text after ``OK``; None for no value."""
    value = jsonable(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if _plain_text(value) else json.dumps(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _plain_text(text: str) -> bool:
    return bool(text) and text == text.strip() and text.isprintable()


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
