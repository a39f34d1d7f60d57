"""RMAP commands and replies: the standard's patterns, round trips, corruption caught."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rmap_vectors import (
    ALL,
    DATA_0,
    DATA_2,
    READ_1,
    READ_3,
    READ_REPLY_1,
    READ_REPLY_3,
    WRITE_0,
    WRITE_2,
    WRITE_REPLY_0,
    WRITE_REPLY_2,
)

from controlroom.device.spacewire import (
    CorruptPacket,
    RmapPacket,
    RmapReadReply,
    RmapReadRequest,
    RmapWriteReply,
    RmapWriteRequest,
    Status,
    classify,
    parse_rmap,
)
from controlroom.device.spacewire.crc import rmap_crc8

STANDARD_PACKETS: list[tuple[bytes, RmapPacket]] = [
    (WRITE_0, RmapWriteRequest(0xFE, 0x67, 0, 0xA000_0000, DATA_0, verify=False)),
    (WRITE_REPLY_0, RmapWriteReply(0x67, 0xFE, 0, Status.SUCCESS, verify=False)),
    (READ_1, RmapReadRequest(0xFE, 0x67, 1, 0xA000_0000, 16)),
    (READ_REPLY_1, RmapReadReply(0x67, 0xFE, 1, Status.SUCCESS, DATA_0)),
    (
        WRITE_2,
        RmapWriteRequest(
            0xFE,
            0x67,
            2,
            0xA000_0010,
            DATA_2,
            verify=False,
            reply_address=bytes.fromhex("0099aabbccddee00"),
        ),
    ),
    (WRITE_REPLY_2, RmapWriteReply(0x67, 0xFE, 2, 0, verify=False, reply_address_words=2)),
    (READ_3, RmapReadRequest(0xFE, 0x67, 3, 0xA000_0010, 16, reply_address=b"\x99\xaa\xbb\xcc")),
    (READ_REPLY_3, RmapReadReply(0x67, 0xFE, 3, 0, DATA_2, reply_address_words=1)),
]


@pytest.mark.parametrize(("wire", "packet"), STANDARD_PACKETS)
def test_standard_patterns_parse_and_encode_byte_for_byte(wire: bytes, packet: RmapPacket) -> None:
    assert parse_rmap(wire) == packet
    assert classify(wire) == packet
    assert packet.encode() == wire


def test_replies_made_from_the_commands_are_the_standards() -> None:
    write = parse_rmap(WRITE_2)
    read = parse_rmap(READ_3)
    assert isinstance(write, RmapWriteRequest)
    assert isinstance(read, RmapReadRequest)
    assert write.answer().encode() == WRITE_REPLY_2
    assert read.answer(Status.SUCCESS, DATA_2).encode() == READ_REPLY_3


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_single_bit_flip_of_a_standard_pattern_is_caught(name: str) -> None:
    wire = ALL[name]
    for bit in range(len(wire) * 8):
        flipped = bytearray(wire)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CorruptPacket):
            classify(bytes(flipped))


@pytest.mark.parametrize("name", sorted(ALL))
def test_truncated_and_oversized_patterns_are_corrupt(name: str) -> None:
    wire = ALL[name]
    for end in range(len(wire)):
        with pytest.raises(CorruptPacket):
            parse_rmap(wire[:end])
    for extra in (b"\x00", b"\x00" * 17):
        with pytest.raises(CorruptPacket):
            parse_rmap(wire + extra)


BYTE = st.integers(0, 255)
REPLY_ADDRESS = st.sampled_from([0, 4, 8, 12]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
COMMON = {
    "target_logical_address": BYTE,
    "initiator_logical_address": BYTE,
    "transaction_id": st.integers(0, 0xFFFF),
    "address": st.integers(0, 0xFFFF_FFFF),
    "key": BYTE,
    "extended_address": BYTE,
    "increment": st.booleans(),
    "reply_address": REPLY_ADDRESS,
}
REPLY = {
    "initiator_logical_address": BYTE,
    "target_logical_address": BYTE,
    "transaction_id": st.integers(0, 0xFFFF),
    "status": BYTE,
    "increment": st.booleans(),
    "reply_address_words": st.integers(0, 3),
}
RMAP_PACKETS = st.one_of(
    st.builds(RmapReadRequest, length=st.integers(0, 0xFF_FFFF), **COMMON),
    st.builds(
        RmapWriteRequest,
        data=st.binary(max_size=64),
        verify=st.booleans(),
        reply=st.booleans(),
        **COMMON,
    ),
    st.builds(RmapReadReply, data=st.binary(max_size=64), **REPLY),
    st.builds(RmapWriteReply, verify=st.booleans(), **REPLY),
)


@given(RMAP_PACKETS)
def test_round_trip(packet: RmapPacket) -> None:
    assert parse_rmap(packet.encode()) == packet


@given(RMAP_PACKETS, st.data())
def test_any_single_bit_flip_is_caught(packet: RmapPacket, data: st.DataObject) -> None:
    wire = bytearray(packet.encode())
    bit = data.draw(st.integers(0, len(wire) * 8 - 1), label="bit")
    wire[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CorruptPacket):
        parse_rmap(bytes(wire))


@given(RMAP_PACKETS, st.data())
def test_any_truncation_is_caught(packet: RmapPacket, data: st.DataObject) -> None:
    wire = packet.encode()
    end = data.draw(st.integers(0, len(wire) - 1), label="end")
    with pytest.raises(CorruptPacket):
        parse_rmap(wire[:end])


@pytest.mark.parametrize(
    ("instruction", "reason"),
    [
        (0x5C, "read-modify-write"),  # verify + reply on a read
        (0x44, "read without reply"),
        (0x8C, "reserved packet type"),
        (0x04, "without the reply bit"),  # a reply that says no reply was asked
    ],
)
def test_unused_or_unsupported_codes_are_refused(instruction: int, reason: str) -> None:
    wire = bytearray(READ_1)
    wire[2] = instruction
    wire[15] = rmap_crc8(wire[:15])  # a good CRC: only the code is wrong
    with pytest.raises(CorruptPacket, match=reason):
        parse_rmap(bytes(wire))


def test_reasons_say_what_was_wrong() -> None:
    bad_header = bytearray(READ_1)
    bad_header[9] ^= 0x10
    with pytest.raises(CorruptPacket, match="header CRC") as caught:
        parse_rmap(bytes(bad_header))
    assert "header CRC" in caught.value.reason
    bad_data = bytearray(WRITE_0)
    bad_data[20] ^= 0x01
    with pytest.raises(CorruptPacket, match="data CRC"):
        parse_rmap(bytes(bad_data))
    with pytest.raises(CorruptPacket, match="announces 16 data bytes"):
        parse_rmap(WRITE_0[:-3])
    with pytest.raises(CorruptPacket, match="not RMAP"):
        parse_rmap(b"\x50\xf0" + bytes(14))


@pytest.mark.parametrize(
    "make",
    [
        lambda: RmapReadRequest(0x51, 0x50, 0x1_0000, 0, 4),
        lambda: RmapReadRequest(0x51, 0x50, 1, 1 << 32, 4),
        lambda: RmapReadRequest(0x51, 0x50, 1, 0, 1 << 24),
        lambda: RmapReadRequest(0x51, 0x50, 1, 0, 4, reply_address=b"\x01\x02"),
        lambda: RmapReadReply(0x50, 0x51, 1, 0, b"", reply_address_words=4),
    ],
)
def test_fields_out_of_range_are_refused_when_encoding(make: Callable[[], RmapPacket]) -> None:
    with pytest.raises(ValueError):
        make().encode()
