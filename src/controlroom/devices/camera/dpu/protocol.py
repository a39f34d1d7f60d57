"""The DPU processor's control protocol: msgpack requests and replies, checked and bounded.

A request is two ZeroMQ frames from a DEALER: ``[request id, body]``. The id
(1 to 16 bytes) is chosen by the client and comes back with the reply; the
body is one msgpack map, at most :data:`MAX_REQUEST_BYTES`::

    {"kind": "command", "register": "v_end", "value": 63}     a register field
    {"kind": "command", "address": 8, "word": 20992}          a whole word
    {"kind": "query", "name": "mode"}                          answered by the loop
    {"kind": "assign", "name": "obsid", "value": "OBS_1"}      answered by the loop
    {"kind": "status"}                                         answered at once

The reply is ``[request id, body]`` with ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"type": ..., "message": ...}}``. A command's result
is its :meth:`CommandReply.as_record` (an RMAP refusal is a result, with its
status and error text, not a failed request); enum values are sent by name
(``"FULL_IMAGE"``), byte strings as msgpack bin. A request that cannot be
understood gets a reply naming what was wrong, with the id it came with (an
empty id when the id itself was the problem). Only msgpack's plain types are
decoded: no extension types, nothing that names code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from controlroom.devices.camera.dpu.commands import (
    Assign,
    Command,
    DpuError,
    Query,
    SetRegister,
    WriteWord,
)

MAX_REQUEST_ID_BYTES = 16
MAX_REQUEST_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024  # beyond this ZeroMQ drops the sender's connection
MAX_NAME_CHARS = 64
MAX_WORD = 2**32 - 1
KINDS = ("command", "query", "assign", "status")


class MalformedRequest(DpuError, ValueError):
    """A request the processor cannot read: the message names what was wrong."""


class MalformedReply(DpuError, ValueError):
    """A reply the client cannot read (not from a DPU processor, or damaged)."""


@dataclass(frozen=True)
class Request:
    """One decoded request: ``item`` is the Command, Query or Assign (None for status)."""

    kind: str
    item: Command | Query | Assign | None


def pack(value: object) -> bytes:
    """``value`` as msgpack (bin for bytes, str for text)."""
    packed: bytes = msgpack.packb(value, use_bin_type=True, default=_plain_default)
    return packed


def unpack(data: bytes, limit: int, what: str, error: type[DpuError] = MalformedRequest) -> object:
    """The msgpack value in ``data``; ``error`` naming ``what`` when it is not one."""
    if len(data) > limit:
        raise error(f"{what} of {len(data)} bytes is larger than {limit}")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_no_ext)
    except Exception as exc:  # msgpack raises several kinds for bad input
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise error(f"{what} is not msgpack ({reason})") from None


def request_id(frames: list[bytes]) -> bytes:
    """The request id of a request's frames, or MalformedRequest."""
    if len(frames) != 2:
        raise MalformedRequest(
            f"a request is 2 frames (request id, msgpack map), not {len(frames)}"
        )
    rid = frames[0]
    if not 1 <= len(rid) <= MAX_REQUEST_ID_BYTES:
        raise MalformedRequest(f"a request id is 1 to {MAX_REQUEST_ID_BYTES} bytes, not {len(rid)}")
    return rid


def parse_request(body: bytes) -> Request:
    """The request in ``body``; MalformedRequest naming the first thing wrong."""
    message = unpack(body, MAX_REQUEST_BYTES, "the request")
    if not isinstance(message, dict):
        raise MalformedRequest(f"a request is a msgpack map, not {type(message).__name__}")
    kind = message.get("kind")
    if kind not in KINDS:
        raise MalformedRequest(f"unknown request kind {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "status":
        _only(message, {"kind"})
        return Request(kind, None)
    if kind == "command":
        return Request(kind, _command(message))
    name = _name(message)
    if kind == "query":
        _only(message, {"kind", "name"})
        return Request(kind, Query(name))
    _only(message, {"kind", "name", "value"})
    if "value" not in message:
        raise MalformedRequest("an assign request needs a 'value'")
    return Request(kind, Assign(name, message["value"]))


def _command(message: dict[str, Any]) -> Command:
    if "register" in message:
        _only(message, {"kind", "register", "value"})
        return SetRegister(_name(message, "register"), _integer(message, "value"))
    if "address" in message:
        _only(message, {"kind", "address", "word"})
        return WriteWord(_integer(message, "address"), _integer(message, "word"))
    raise MalformedRequest(
        "a command names a 'register' and a 'value', or an 'address' and a 'word'"
    )


def _only(message: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(key) for key in message if key not in allowed)
    if extra:
        raise MalformedRequest(
            f"a {message['kind']} request takes {', '.join(sorted(allowed))}; "
            f"not {', '.join(extra)}"
        )


def _name(message: dict[str, Any], key: str = "name") -> str:
    value = message.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_CHARS:
        raise MalformedRequest(
            f"'{key}' is a text of 1 to {MAX_NAME_CHARS} characters, not {value!r}"
        )
    return value


def _integer(message: dict[str, Any], key: str) -> int:
    """A 32-bit unsigned integer: every register value, address and word fits one."""
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedRequest(f"'{key}' is an integer, not {value!r}")
    if not 0 <= value <= MAX_WORD:
        raise MalformedRequest(f"'{key}' is 0 to {MAX_WORD}, not {value}")
    return value


def ok_reply(result: object) -> bytes:
    return pack({"ok": True, "result": result})


def error_reply(error: BaseException) -> bytes:
    """The reply for a failed request: the error's class name and its message."""
    return pack({"ok": False, "error": {"type": type(error).__name__, "message": str(error)}})


def plain(value: object) -> object:
    """``value`` in msgpack's plain types: enums by name, numpy scalars and arrays as Python."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tobytes() if value.dtype == np.uint8 else value.tolist()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _plain_default(value: object) -> object:
    converted = plain(value)
    if converted is value:
        raise TypeError(f"cannot send a {type(value).__name__} in a DPU reply")
    return converted


def _no_ext(code: int, data: bytes) -> object:
    raise ValueError(f"extension type {code} is not accepted")
