"""Payloads: values to text, command payloads to arguments, results to JSON.

Values: numbers are plain text (``21.5``, ``3``), booleans ``true``/``false``,
strings as they are, everything else (lists, maps, ``None``) compact JSON.
A retained message with an empty payload would *delete* the retained value,
so an empty string is sent as ``""``.

A command payload is JSON arguments -- a list (positional) or an object
(keywords) -- or one plain scalar: a JSON number, ``true``, a quoted string,
or any other text, taken as one string argument. Empty means no arguments.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

from controlroom.bridges.mqtt.errors import PayloadError

Arguments = tuple[tuple[Any, ...], dict[str, Any]]


def encode_value(value: Any) -> str:
    """The text published for one status or HK value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return repr(number) if math.isfinite(number) else str(number)
    if isinstance(value, str):
        return value if value else '""'
    return to_json(value)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def to_json(value: Any) -> str:
    """Compact JSON; what JSON cannot hold (bytes, arrays, NaN...) as the closest it can."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return _plain(tolist())
    return str(value)


def parse_arguments(payload: bytes, max_bytes: int) -> Arguments:
    """``(args, kwargs)`` of a command payload; :class:`PayloadError` says what is wrong."""
    if len(payload) > max_bytes:
        raise PayloadError(f"payload of {len(payload)} bytes is over the limit of {max_bytes}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("payload is not UTF-8 text") from None
    if not text:
        return (), {}
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        if text[0] in "[{":
            raise PayloadError(f"payload is not valid JSON: {exc}") from None
        return (text,), {}  # a plain word: one string argument
    if isinstance(value, list):
        return tuple(value), {}
    if isinstance(value, dict):
        bad = [key for key in value if not key.isidentifier()]
        if bad:
            raise PayloadError(f"argument names must be identifiers, not {bad[0]!r}")
        return (), value
    return (value,), {}


def result_payload(server: str, command: str, *, value: Any = None, error: str = "") -> str:
    """The JSON answer on ``.../<command>/result``: ``ok`` and ``value``, or ``error``."""
    answer: dict[str, Any] = {"server": server, "command": command, "ok": not error}
    if error:
        answer["error"] = error
    else:
        answer["value"] = value
    return to_json(answer)
