"""The versioned envelope every request and reply travels in.

On the wire an envelope is one msgpack array (plus out-of-band array frames):

=========  ==============================================================
kind       array
=========  ==============================================================
call       ``[version, "call", id, command, args, kwargs]`` (+ ``caller``)
reply      ``[version, "reply", id, result]``
error      ``[version, "error", id, {type, message, traceback, origin}]``
hello      ``[version, "hello", id, {versions, client, features}]``
welcome    ``[version, "welcome", id, {version, server, features}]``
=========  ==============================================================

A call may carry a seventh field, ``caller``: the person a trusted
intermediary (the web panel, the pipe server, the MQTT bridge) calls for,
``{"user": ..., "role": ..., "via": ...}``. The server decides whether to
believe it (see :mod:`controlroom.rpc.access`); here it is only shaped.

Clients in other languages need only a msgpack library to speak it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack

from controlroom.wire.codec import DEFAULT_REGISTRY, Frame, TypeRegistry, pack, unpack
from controlroom.wire.errorinfo import ErrorInfo
from controlroom.wire.errors import FrameTooLarge, MalformedFrame, VersionMismatch

PROTOCOL_VERSION: Final = 1
SUPPORTED_VERSIONS: Final = frozenset({1})
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024

CALL: Final = "call"
REPLY: Final = "reply"
ERROR: Final = "error"
HELLO: Final = "hello"
WELCOME: Final = "welcome"
KINDS: Final = frozenset({CALL, REPLY, ERROR, HELLO, WELCOME})
_MAX_ID: Final = 2**64 - 1
MAX_CALLER_FIELDS: Final = 8
MAX_CALLER_CHARS: Final = 128


@dataclass(slots=True)
class Envelope:
    """One message; which fields matter depends on ``kind`` (see the module table)."""

    kind: str
    id: int
    command: str = ""
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: ErrorInfo | None = None
    version: int = PROTOCOL_VERSION
    caller: dict[str, str] | None = None


def call(request_id: int, command: str, args: Sequence[Any] = (), **kwargs: Any) -> Envelope:
    return Envelope(CALL, request_id, command, list(args), kwargs)


def reply(request_id: int, result: Any) -> Envelope:
    return Envelope(REPLY, request_id, result=result)


def failure(request_id: int, error: ErrorInfo) -> Envelope:
    return Envelope(ERROR, request_id, error=error)


def encode_call(
    request_id: int,
    command: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    registry: TypeRegistry = DEFAULT_REGISTRY,
    *,
    caller: Mapping[str, str] | None = None,
) -> list[Frame]:
    """The frames of a call, without building an :class:`Envelope` (the client's hot path)."""
    arguments = args if type(args) is list else list(args)
    body = [PROTOCOL_VERSION, CALL, request_id, command, arguments, kwargs or {}]
    if caller:
        body.append(dict(caller))
    return pack(body, registry)


def encode_reply(
    request_id: int, result: Any, registry: TypeRegistry = DEFAULT_REGISTRY
) -> list[Frame]:
    """The frames of a successful reply (the server's hot path)."""
    return pack([PROTOCOL_VERSION, REPLY, request_id, result], registry)


def encode(env: Envelope, registry: TypeRegistry = DEFAULT_REGISTRY) -> list[Frame]:
    """The frames for ``env``."""
    if env.kind == CALL:
        body: list[Any] = [env.version, CALL, env.id, env.command, env.args, env.kwargs]
        if env.caller:
            body.append(env.caller)
    elif env.kind == ERROR:
        assert env.error is not None
        body = [env.version, ERROR, env.id, env.error.to_dict()]
    else:
        body = [env.version, env.kind, env.id, env.result]
    return pack(body, registry)


def decode(
    frames: Sequence[Frame],
    registry: TypeRegistry = DEFAULT_REGISTRY,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
    strict_keys: bool = True,
) -> Envelope:
    """Parse frames into an envelope; raise a :class:`ProtocolError` subclass if they are bad.

    ``strict_keys=False`` accepts non-string map keys (see :func:`unpack`).
    """
    size = len(frames[0]) if len(frames) == 1 else sum(len(f) for f in frames)
    if size > max_bytes:
        raise FrameTooLarge(f"message of {size} bytes exceeds the limit of {max_bytes}")
    try:
        body = unpack(frames, registry, strict_keys=strict_keys)
    except MalformedFrame as exc:
        if exc.request_id is None and frames:
            exc.request_id = peek_request_id(frames)
        raise
    if type(body) is not list or len(body) < 4:
        raise MalformedFrame("message is not an envelope array")
    version, kind, request_id = body[0], body[1], body[2]
    if type(request_id) is not int or not 0 <= request_id <= _MAX_ID:
        raise MalformedFrame(f"request id must be an integer in [0, 2**64), not {request_id!r}")
    if type(kind) is not str or kind not in KINDS:
        raise MalformedFrame(f"unknown message kind {kind!r}", request_id=request_id)
    if (type(version) is not int or version not in SUPPORTED_VERSIONS) and kind != HELLO:
        raise VersionMismatch(
            f"protocol version {version!r} is not supported (this side speaks "
            f"{sorted(SUPPORTED_VERSIONS)})",
            request_id=request_id,
            version=version,
        )
    return _shape(kind, request_id, body)


def peek_request_id(frames: Sequence[Frame]) -> int | None:
    """The request id of a message whose body does not decode, if it can be read.

    Reads only the array header and the first three fields, so a request that
    fails further on (a bad argument, a forbidden map key) still gets its error
    reply matched to the call that sent it.
    """
    try:
        unpacker = msgpack.Unpacker(max_buffer_size=len(frames[0]) + 1)
        unpacker.feed(frames[0])
        if unpacker.read_array_header() < 3:
            return None
        for _ in range(2):
            unpacker.skip()
        request_id = unpacker.unpack()
    except Exception:  # anything unreadable simply has no id
        return None
    return request_id if type(request_id) is int and 0 <= request_id <= _MAX_ID else None


def _shape(kind: str, request_id: int, body: list[Any]) -> Envelope:
    version = body[0] if type(body[0]) is int else -1
    if kind == CALL:
        return _shape_call(request_id, body, version)
    if len(body) != 4:
        raise MalformedFrame(
            f"a {kind} message has 4 fields, got {len(body)}", request_id=request_id
        )
    if kind == ERROR:
        try:
            info = ErrorInfo.from_dict(body[3])
        except MalformedFrame as exc:
            raise MalformedFrame(str(exc), request_id=request_id) from None
        return Envelope(ERROR, request_id, "", [], {}, None, info, version)
    # Every field by position: half the cost of keywords and default factories, per reply.
    return Envelope(kind, request_id, "", [], {}, body[3], None, version)


def _shape_call(request_id: int, body: list[Any], version: int) -> Envelope:
    if len(body) not in (6, 7):
        raise MalformedFrame(f"a call has 6 or 7 fields, got {len(body)}", request_id=request_id)
    command, args, kwargs = body[3], body[4], body[5]
    if type(command) is not str or not command:
        raise MalformedFrame("command name must be a non-empty string", request_id=request_id)
    if type(args) is not list:
        raise MalformedFrame("call arguments must be an array", request_id=request_id)
    if type(kwargs) is not dict or (kwargs and not all(type(k) is str for k in kwargs)):
        raise MalformedFrame(
            "call keyword arguments must be a map with string keys", request_id=request_id
        )
    caller = _caller(body[6], request_id) if len(body) == 7 else None
    return Envelope(CALL, request_id, command, args, kwargs, None, None, version, caller)


def _caller(value: Any, request_id: int) -> dict[str, str] | None:
    """The optional caller field: a small map of short strings, or nil."""
    if value is None:
        return None
    if (
        type(value) is not dict
        or len(value) > MAX_CALLER_FIELDS
        or not all(
            type(k) is str and type(v) is str and len(k) <= 32 and len(v) <= MAX_CALLER_CHARS
            for k, v in value.items()
        )
    ):
        raise MalformedFrame(
            f"the caller field is a map of at most {MAX_CALLER_FIELDS} strings of at most "
            f"{MAX_CALLER_CHARS} characters",
            request_id=request_id,
        )
    return value
