"""The command journal: every device command a control server ran, as a stored row.

A :class:`JournalSink` is a command observer (``server.hooks.reply_observers``:
it runs right after the reply is sent, so no caller waits for it) that hands
each :class:`~controlroom.rpc.hooks.CommandRecord` to a
:class:`~.sender.StorageSender` for the ``JOURNAL`` origin. The record is
turned into text on the sender's thread (:func:`journal_values`), never on the
server's: a command's arguments or result may be large.

Each row: the time the command started (the row's timestamp), the obsid and
Setup id, and :data:`JOURNAL_COLUMNS`: the server, the command, its arguments
as JSON ``{"args": [...], "kwargs": {...}}``, ``ok`` or ``error``, the error's
type and message, the value returned as JSON (cut at ``value_chars``), the
duration in seconds and the caller as the server authenticated them
(``alice via web (key lab)``): the audit trail. Refused calls are rows too.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Mapping
from typing import Any

from controlroom.rpc.hooks import CommandRecord
from controlroom.services.storage.sender import StorageSender

JOURNAL = "JOURNAL"
JOURNAL_COLUMNS = (
    "server",
    "command",
    "arguments",
    "outcome",
    "error_type",
    "error_message",
    "value",
    "duration_s",
    "caller",
)
VALUE_CHARS = 2000
_ARRAY_ITEMS = 64  # larger arrays are described, not listed


class JournalSink:
    """A command observer that queues each command on ``sender`` (origin ``JOURNAL``)."""

    def __init__(self, sender: StorageSender) -> None:
        self.sender = sender

    def __call__(self, record: CommandRecord) -> None:
        self.sender.put(record, record.time, JOURNAL)


def journal_values(record: CommandRecord, value_chars: int = VALUE_CHARS) -> dict[str, Any]:
    """The stored columns of one command (see the module docstring)."""
    error = record.error
    return {
        "server": record.server,
        "command": record.command,
        "arguments": json_text({"args": record.args, "kwargs": record.kwargs}, value_chars),
        "outcome": "ok" if error is None else "error",
        "error_type": None if error is None else error.type,
        "error_message": None if error is None else _cut(error.message, value_chars),
        "value": json_text(record.result, value_chars) if error is None else None,
        "duration_s": record.duration_s,
        "caller": record.caller or None,
    }


def json_text(value: Any, limit: int = VALUE_CHARS) -> str:
    """``value`` as JSON text of at most about ``limit`` characters."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):  # tuple keys, cycles: keep what it looks like
        text = _ENCODER.encode(repr(value))
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # The total keeps a reader from taking a cut value for the whole of it.
    return f"{text[:limit]}… ({len(text)} chars)"


def _plain(value: Any) -> Any:
    """What JSON cannot say itself: arrays, numpy scalars, enums, times, bytes, sets."""
    np = sys.modules.get("numpy")  # numpy values exist only if numpy was imported
    if np is not None and isinstance(value, np.ndarray):
        if value.size <= _ARRAY_ITEMS:
            return value.tolist()
        return {"ndarray": list(value.shape), "dtype": str(value.dtype)}
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray):
        return value[:_ARRAY_ITEMS].hex()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return repr(value)


# One encoder for every row: json.dumps with options builds a new one per call, which
# doubled the cost of a command's journal row.
_ENCODER = json.JSONEncoder(default=_plain, ensure_ascii=False)
