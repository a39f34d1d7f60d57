"""The versioned envelope: every kind, the hot-path encoders, and refusal of bad frames."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest

from controlroom import wire
from controlroom.wire import (
    PROTOCOL_VERSION,
    Envelope,
    ErrorInfo,
    FrameTooLarge,
    MalformedFrame,
    ProtocolError,
    VersionMismatch,
)
from controlroom.wire.envelope import (
    CALL,
    ERROR,
    HELLO,
    KINDS,
    MAX_MESSAGE_BYTES,
    REPLY,
    SUPPORTED_VERSIONS,
    WELCOME,
)

V = PROTOCOL_VERSION
UNSUPPORTED = max(SUPPORTED_VERSIONS) + 1


def raw(*fields: Any) -> list[bytes]:
    """A message built by hand, as a peer in another language might send it."""
    return [msgpack.packb(list(fields))]


def through_the_wire(env: Envelope) -> Envelope:
    return wire.decode([bytes(f) for f in wire.encode(env)])


# -- every kind ----------------------------------------------------------------------------


def test_call_round_trips() -> None:
    env = through_the_wire(wire.call(7, "set_temperature", [300.5], channel="A", ramp=True))
    assert env == Envelope(
        CALL, 7, "set_temperature", [300.5], {"channel": "A", "ramp": True}, version=V
    )


def test_reply_round_trips() -> None:
    env = through_the_wire(wire.reply(8, {"T": [1.5, 2.5], "ok": True}))
    assert (env.kind, env.id, env.result) == (REPLY, 8, {"T": [1.5, 2.5], "ok": True})
    assert env.error is None


def test_error_round_trips() -> None:
    info = ErrorInfo("DeviceTimeout", "no reply", "Traceback ...", "TEMPCTL")
    env = through_the_wire(wire.failure(9, info))
    assert (env.kind, env.id, env.error) == (ERROR, 9, info)


@pytest.mark.parametrize("kind", [HELLO, WELCOME])
def test_handshake_kinds_round_trip(kind: str) -> None:
    payload = {"versions": [1], "client": "test", "features": ["lease"]}
    env = through_the_wire(Envelope(kind, 10, result=payload))
    assert (env.kind, env.id, env.result, env.version) == (kind, 10, payload, V)


def test_every_kind_is_covered() -> None:
    assert {CALL, REPLY, ERROR, HELLO, WELCOME} == KINDS


def test_call_with_large_array_argument_uses_extra_frames() -> None:
    data = np.arange(500, dtype="<f8")
    frames = wire.encode(wire.call(3, "upload", [data], label="ramp"))
    assert len(frames) == 2
    env = wire.decode([bytes(f) for f in frames])
    assert np.array_equal(env.args[0], data)
    assert env.kwargs == {"label": "ramp"}


def test_reply_with_arrays_and_extension_types() -> None:
    result = {"image": np.ones((40, 40), "<u2"), "exposure": 1.5 + 0j, "tags": {"dark"}}
    env = wire.decode([bytes(f) for f in wire.encode_reply(4, result)])
    assert env.result["image"].shape == (40, 40)
    assert env.result["exposure"] == 1.5
    assert env.result["tags"] == {"dark"}


def test_envelope_defaults() -> None:
    env = Envelope(REPLY, 1)
    assert (env.command, env.args, env.kwargs, env.result, env.error, env.version) == (
        "",
        [],
        {},
        None,
        None,
        V,
    )


def test_the_wire_layout_is_a_plain_msgpack_array() -> None:
    # What a client in another language sees and must send.
    (body,) = wire.encode(wire.call(5, "ping", ["x"], n=1))
    assert msgpack.unpackb(body) == [V, "call", 5, "ping", ["x"], {"n": 1}]
    (body,) = wire.encode(wire.reply(5, "pong"))
    assert msgpack.unpackb(body) == [V, "reply", 5, "pong"]
    (body,) = wire.encode(wire.failure(5, ErrorInfo("E", "m")))
    assert msgpack.unpackb(body) == [
        V,
        "error",
        5,
        {"type": "E", "message": "m", "traceback": "", "origin": ""},
    ]


# -- hot-path encoders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), None), ([1, 2], {}), ((1.5, "A"), {"ramp": 2.0}), ([np.float64(2)], {"n": 1})],
)
def test_encode_call_matches_encode(args: Any, kwargs: Any) -> None:
    fast = wire.encode_call(11, "cmd", args, kwargs)
    slow = wire.encode(wire.call(11, "cmd", args, **(kwargs or {})))
    assert [bytes(f) for f in fast] == [bytes(f) for f in slow]
    env = wire.decode(fast)
    assert (env.kind, env.id, env.command, env.args, env.kwargs) == (
        CALL,
        11,
        "cmd",
        list(args),
        kwargs or {},
    )


@pytest.mark.parametrize("result", [None, 1.5, "pong", [1, (2, 3)], {"a": {1, 2}}])
def test_encode_reply_matches_encode(result: Any) -> None:
    fast = wire.encode_reply(12, result)
    assert [bytes(f) for f in fast] == [bytes(f) for f in wire.encode(wire.reply(12, result))]
    assert wire.decode(fast).kind == REPLY


def test_encode_call_accepts_any_sequence_of_arguments() -> None:
    assert wire.decode(wire.encode_call(1, "cmd", range(1, 3))).args == [1, 2]


def test_encode_call_refuses_unencodable_arguments() -> None:
    with pytest.raises(wire.EncodeError):
        wire.encode_call(1, "cmd", [object()])


@pytest.mark.parametrize("request_id", [0, 1, 2**32, 2**63, 2**64 - 1])
def test_request_ids_span_64_bits(request_id: int) -> None:
    assert wire.decode(wire.encode_call(request_id, "ping")).id == request_id


# -- versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [CALL, REPLY, ERROR, WELCOME])
def test_unsupported_version_is_refused_with_the_request_id(kind: str) -> None:
    fields: list[Any] = [UNSUPPORTED, kind, 42]
    fields += ["ping", [], {}] if kind == CALL else [{"type": "E"}]
    with pytest.raises(VersionMismatch) as caught:
        wire.decode(raw(*fields))
    assert caught.value.request_id == 42
    assert caught.value.version == UNSUPPORTED
    message = str(caught.value)
    assert str(UNSUPPORTED) in message
    assert str(sorted(SUPPORTED_VERSIONS)) in message


@pytest.mark.parametrize("version", [UNSUPPORTED, 0, "1", 1.0, None, [1], {"v": 1}, True])
def test_hello_is_decodable_whatever_its_version(version: Any) -> None:
    offer = {"versions": [UNSUPPORTED], "client": "future"}
    env = wire.decode(raw(version, HELLO, 3, offer))
    assert (env.kind, env.id, env.result) == (HELLO, 3, offer)
    assert env.version == (version if type(version) is int else -1)


@pytest.mark.parametrize("version", ["1", 1.0, None, True, [1], {"v": 1}])
def test_a_version_that_is_not_an_integer_is_a_protocol_error(version: Any) -> None:
    # Not a TypeError even when unhashable; reported as a version mismatch with the id.
    with pytest.raises(ProtocolError) as caught:
        wire.decode(raw(version, CALL, 5, "ping", [], {}))
    assert isinstance(caught.value, VersionMismatch)
    assert caught.value.request_id == 5


# -- malformed frames ----------------------------------------------------------------------

MALFORMED_WITHOUT_ID = {
    "not-msgpack": [b"\xc1"],
    "a-map": [msgpack.packb({"kind": "call"})],
    "an-int": [msgpack.packb(7)],
    "a-string": [msgpack.packb("call")],
    "empty-array": [msgpack.packb([])],
    "three-fields": raw(V, CALL, 1),
    "id-negative": raw(V, CALL, -1, "ping", [], {}),
    "id-bool": raw(V, CALL, True, "ping", [], {}),
    "id-float": raw(V, CALL, 1.0, "ping", [], {}),
    "id-string": raw(V, CALL, "1", "ping", [], {}),
    "id-none": raw(V, CALL, None, "ping", [], {}),
    "id-list": raw(V, CALL, [1], "ping", [], {}),
    "no-frames": [],
}


MALFORMED_WITH_A_READABLE_ID = {
    "truncated": [msgpack.packb([V, CALL, 1, "ping", [], {}])[:-2]],
    "trailing-bytes": [msgpack.packb([V, CALL, 1, "ping", [], {}]) + b"\x00"],
    "int-map-key": [msgpack.packb([V, CALL, 1, "echo", [{1: "one"}], {}])],
}


@pytest.mark.parametrize(
    "frames", MALFORMED_WITH_A_READABLE_ID.values(), ids=MALFORMED_WITH_A_READABLE_ID.keys()
)
def test_a_body_that_fails_late_still_names_its_request(frames: list[bytes]) -> None:
    # The error reply can then reach the caller instead of leaving it to time out.
    with pytest.raises(MalformedFrame) as caught:
        wire.decode(frames)
    assert caught.value.request_id == 1


@pytest.mark.parametrize("frames", MALFORMED_WITHOUT_ID.values(), ids=MALFORMED_WITHOUT_ID.keys())
def test_unreadable_frames_are_malformed_without_an_id(frames: list[bytes]) -> None:
    with pytest.raises(MalformedFrame) as caught:
        wire.decode(frames)
    assert caught.value.request_id is None


MALFORMED_WITH_ID = {
    "kind-unknown": raw(V, "cast", 9, "ping", [], {}),
    "kind-empty": raw(V, "", 9, None),
    "kind-int": raw(V, 1, 9, None),
    "kind-none": raw(V, None, 9, None),
    "kind-list": raw(V, ["call"], 9, "ping", [], {}),
    "kind-map": raw(V, {"call": 1}, 9, "ping", [], {}),
    "kind-bytes": raw(V, b"call", 9, "ping", [], {}),
    "call-5-fields": raw(V, CALL, 9, "ping", []),
    "call-8-fields": raw(V, CALL, 9, "ping", [], {}, None, None),
    "call-caller-not-a-map": raw(V, CALL, 9, "ping", [], {}, ["alice"]),
    "call-caller-int-value": raw(V, CALL, 9, "ping", [], {}, {"user": 7}),
    "call-caller-too-long": raw(V, CALL, 9, "ping", [], {}, {"user": "a" * 129}),
    "call-caller-too-many": raw(V, CALL, 9, "ping", [], {}, {str(i): "x" for i in range(9)}),
    "reply-5-fields": raw(V, REPLY, 9, 1, 2),
    "error-5-fields": raw(V, ERROR, 9, {"type": "E"}, None),
    "welcome-6-fields": raw(V, WELCOME, 9, {}, None, None),
    "command-int": raw(V, CALL, 9, 5, [], {}),
    "command-empty": raw(V, CALL, 9, "", [], {}),
    "command-none": raw(V, CALL, 9, None, [], {}),
    "command-bytes": raw(V, CALL, 9, b"ping", [], {}),
    "command-list": raw(V, CALL, 9, ["ping"], [], {}),
    "args-map": raw(V, CALL, 9, "ping", {}, {}),
    "args-string": raw(V, CALL, 9, "ping", "abc", {}),
    "args-none": raw(V, CALL, 9, "ping", None, {}),
    "args-int": raw(V, CALL, 9, "ping", 3, {}),
    "kwargs-list": raw(V, CALL, 9, "ping", [], []),
    "kwargs-none": raw(V, CALL, 9, "ping", [], None),
    "kwargs-string": raw(V, CALL, 9, "ping", [], "a=1"),
    "kwargs-bytes-key": raw(V, CALL, 9, "ping", [], {b"a": 1}),
    "error-not-a-map": raw(V, ERROR, 9, "boom"),
    "error-without-type": raw(V, ERROR, 9, {"message": "m"}),
    "error-empty-type": raw(V, ERROR, 9, {"type": ""}),
    "error-int-message": raw(V, ERROR, 9, {"type": "E", "message": 3}),
    "error-list-traceback": raw(V, ERROR, 9, {"type": "E", "traceback": []}),
}


@pytest.mark.parametrize("frames", MALFORMED_WITH_ID.values(), ids=MALFORMED_WITH_ID.keys())
def test_readable_but_bad_envelopes_are_malformed_with_their_id(frames: list[bytes]) -> None:
    with pytest.raises(MalformedFrame) as caught:
        wire.decode(frames)
    assert caught.value.request_id == 9


def test_malformed_frame_messages_say_what_is_wrong() -> None:
    with pytest.raises(MalformedFrame, match="command name"):
        wire.decode(raw(V, CALL, 1, 5, [], {}))
    with pytest.raises(MalformedFrame, match="6 or 7 fields, got 5"):
        wire.decode(raw(V, CALL, 1, "ping", []))
    with pytest.raises(MalformedFrame, match="unknown message kind 'cast'"):
        wire.decode(raw(V, "cast", 1, None))


def test_error_info_may_omit_optional_fields() -> None:
    env = wire.decode(raw(V, ERROR, 9, {"type": "E"}))
    assert env.error == ErrorInfo("E", "", "", "")


def test_decode_ignores_unknown_error_info_fields() -> None:
    env = wire.decode(raw(V, ERROR, 9, {"type": "E", "message": "m", "extra": 1}))
    assert env.error == ErrorInfo("E", "m")


def test_array_pointing_at_a_missing_frame_is_malformed() -> None:
    frames = [bytes(f) for f in wire.encode_reply(2, np.zeros(500))]
    with pytest.raises(MalformedFrame, match="missing frame"):
        wire.decode(frames[:1])


# -- size limit ----------------------------------------------------------------------------


def test_oversize_messages_are_refused_before_decoding() -> None:
    frames = wire.encode_reply(1, "x" * 1000)
    with pytest.raises(FrameTooLarge, match="exceeds"):
        wire.decode(frames, max_bytes=999)


def test_the_limit_counts_every_frame() -> None:
    frames = [bytes(f) for f in wire.encode_reply(1, np.zeros(1000, "u1"))]
    total = sum(len(f) for f in frames)
    assert wire.decode(frames, max_bytes=total).kind == REPLY
    with pytest.raises(FrameTooLarge):
        wire.decode(frames, max_bytes=total - 1)


def test_a_message_of_exactly_the_limit_passes() -> None:
    frames = wire.encode_reply(1, "abc")
    assert wire.decode(frames, max_bytes=len(frames[0])).result == "abc"


def test_frame_too_large_is_checked_even_for_garbage() -> None:
    with pytest.raises(FrameTooLarge):
        wire.decode([b"\xc1" * 100], max_bytes=10)


def test_default_limit_is_generous() -> None:
    assert MAX_MESSAGE_BYTES >= 16 * 1024 * 1024


# -- errors --------------------------------------------------------------------------------


def test_protocol_errors_share_one_root() -> None:
    for cls in (MalformedFrame, FrameTooLarge, VersionMismatch):
        assert issubclass(cls, ProtocolError)
        assert issubclass(cls, wire.WireError)
    assert not issubclass(ProtocolError, TypeError)


def test_a_call_carries_the_caller_it_is_made_for() -> None:
    caller = {"user": "alice", "role": "operator", "via": "web"}
    frames = wire.encode_call(5, "set_offset", [1.5], {}, caller=caller)
    env = wire.decode(frames)
    assert (env.command, env.args, env.caller) == ("set_offset", [1.5], caller)
    assert wire.decode(wire.encode(env)).caller == caller
    assert wire.decode(wire.encode_call(6, "ping")).caller is None
