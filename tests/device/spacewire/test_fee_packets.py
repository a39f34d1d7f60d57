"""FEE housekeeping and data packets: the documented byte layout, views, length checks.

Also the two shortcuts of a full-frame stream: a header written in place in
front of a payload already laid out (the sender), and a check that builds no
packet (the link, which passes packets on to their reader).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire import (
    CorruptPacket,
    DataHeader,
    DataPacket,
    HousekeepingPacket,
    check_fee,
    classify,
    parse_fee,
)
from controlroom.device.spacewire.packets import HEADER


def test_data_packet_bytes_are_the_documented_layout() -> None:
    pixels = np.array([1, 0x0203, 0xFFFF], dtype=np.uint16)
    packet = DataPacket.from_pixels(
        pixels, frame_counter=0x1234, sequence_counter=0xABCD, ccd=3, side="F",
        kind="overscan", last=True, mode=5,
    )  # fmt: skip
    # type: kind 1 | (ccd 3 - 1) << 4 | side F << 6 | last << 7 | mode 5 << 8 = 0x05E1
    assert packet.encode() == bytes.fromhex("50 f0 0006 05e1 1234 abcd 0001 0203 ffff")


def test_housekeeping_packet_bytes_are_the_documented_layout() -> None:
    packet = HousekeepingPacket(frame_counter=7, sequence_counter=8, data=b"\xde\xad", mode=2)
    assert packet.encode() == bytes.fromhex("50 f0 0002 0202 0007 0008 dead")


def test_pixels_are_a_big_endian_view_on_the_received_packet() -> None:
    wire = bytearray(bytes.fromhex("50f0 0004 0010 0001 0002 0102 0304"))
    packet = classify(wire)
    assert isinstance(packet, DataPacket)
    assert (packet.ccd, packet.side, packet.kind, packet.last) == (2, "E", "data", False)
    assert packet.pixels.tolist() == [0x0102, 0x0304]
    assert packet.pixels.dtype == np.dtype(">u2")
    assert np.shares_memory(packet.pixels, np.frombuffer(wire, dtype=np.uint8))
    wire[10] = 0xFF  # the view follows the buffer: no copy was made
    assert packet.pixels[0] == 0xFF02


def test_pixels_of_bytes_are_read_only() -> None:
    packet = parse_fee(bytes.fromhex("50f0 0002 0000 0000 0000 0102"))
    assert isinstance(packet, DataPacket)
    with pytest.raises(ValueError, match="read-only"):
        packet.pixels[0] = 1


DATA_PACKETS = st.builds(
    DataPacket,
    frame_counter=st.integers(0, 0xFFFF),
    sequence_counter=st.integers(0, 0xFFFF),
    ccd=st.integers(1, 4),
    side=st.sampled_from(["E", "F"]),
    payload=st.integers(0, 200).flatmap(lambda n: st.binary(min_size=2 * n, max_size=2 * n)),
    kind=st.sampled_from(["data", "overscan"]),
    last=st.booleans(),
    mode=st.integers(0, 15),
    logical_address=st.integers(0, 255),
)
HK_PACKETS = st.builds(
    HousekeepingPacket,
    frame_counter=st.integers(0, 0xFFFF),
    sequence_counter=st.integers(0, 0xFFFF),
    data=st.binary(max_size=400),
    mode=st.integers(0, 15),
    logical_address=st.integers(0, 255),
)


@given(st.one_of(DATA_PACKETS, HK_PACKETS))
def test_round_trip(packet: DataPacket | HousekeepingPacket) -> None:
    assert classify(packet.encode()) == packet


@given(DATA_PACKETS, st.integers(0, 40))
def test_a_header_written_in_place_makes_the_encoded_packet(
    packet: DataPacket, offset: int
) -> None:
    header = DataHeader(
        packet.frame_counter, packet.ccd, packet.side, packet.kind, packet.mode,
        packet.logical_address,
    )  # fmt: skip
    buffer = bytearray(b"\xee" * (offset + HEADER.size)) + bytes(packet.payload)
    header.pack_into(buffer, offset, len(packet.payload), packet.sequence_counter, packet.last)
    assert bytes(buffer[offset:]) == packet.encode()
    assert buffer[:offset] == b"\xee" * offset  # nothing before the header is touched


@given(st.one_of(DATA_PACKETS, HK_PACKETS))
def test_a_good_packet_passes_the_check(packet: DataPacket | HousekeepingPacket) -> None:
    check_fee(packet.encode())
    check_fee(memoryview(packet.encode()))


@pytest.mark.parametrize(
    "wire",
    [
        "50f0 0002 0003 0000 0000 0102",  # kind 3
        "50f0 0002 1000 0000 0000 0102",  # a reserved bit
        "50f0 0002 0012 0000 0000 0102",  # housekeeping with a CCD number
        "50f0 0003 0000 0000 0000 010203",  # a data packet splitting a pixel
        "50f0 0004 0000 0000 0000 0102",  # the length field says more
        "50f1 0002 0000 0000 0000 0102",  # not the FEE's protocol
        "50f0 0000 0000 0000",  # a short header
    ],
)
def test_the_check_refuses_what_parsing_refuses_saying_the_same(wire: str) -> None:
    with pytest.raises(CorruptPacket) as parsed:
        parse_fee(bytes.fromhex(wire))
    with pytest.raises(CorruptPacket) as checked:
        check_fee(bytes.fromhex(wire))
    assert checked.value.reason == parsed.value.reason


@pytest.mark.parametrize(
    "fields",
    [{"ccd": 0}, {"side": "G"}, {"kind": "bias"}, {"mode": 16}, {"frame_counter": 0x1_0000}],
)
def test_a_header_with_impossible_fields_is_refused(fields: dict[str, object]) -> None:
    arguments: dict[str, object] = {"frame_counter": 0, "ccd": 1, "side": "E"}
    with pytest.raises(ArgumentError):
        DataHeader(**(arguments | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(("length", "sequence"), [(3, 0), (0x1_0000, 0), (2, 0x1_0000), (-2, 0)])
def test_a_header_refuses_an_impossible_length_or_sequence(length: int, sequence: int) -> None:
    buffer = bytearray(HEADER.size + 4)
    with pytest.raises(ArgumentError, match="payload"):
        DataHeader(0, 1, "E").pack_into(buffer, 0, length, sequence, last=False)
    assert buffer == bytearray(HEADER.size + 4)


@given(DATA_PACKETS, st.integers(-12, 12).filter(bool))
def test_a_length_field_that_disagrees_with_the_size_is_corrupt(
    packet: DataPacket, change: int
) -> None:
    wire = packet.encode()
    resized = wire[: len(wire) + change] if change < 0 else wire + bytes(change)
    with pytest.raises(CorruptPacket, match=r"length field|header|protocol id"):
        classify(resized)


@pytest.mark.parametrize(
    ("type_field", "reason"),
    [
        ("0003", "reserved"),  # kind 3
        ("0004", "reserved"),  # bit 2
        ("1000", "reserved"),  # bit 12
        ("0012", "reserved"),  # housekeeping with a CCD number
        ("0082", "reserved"),  # housekeeping with the last-packet bit
    ],
)
def test_reserved_type_bits_are_corrupt(type_field: str, reason: str) -> None:
    with pytest.raises(CorruptPacket, match=reason):
        parse_fee(bytes.fromhex(f"50f0 0002 {type_field} 0000 0000 0102"))


def test_an_odd_data_payload_is_corrupt() -> None:
    with pytest.raises(CorruptPacket, match="splits a pixel"):
        parse_fee(bytes.fromhex("50f0 0003 0000 0000 0000 010203"))


@pytest.mark.parametrize("wire", [b"", b"\x50", b"\x50\x02abc", b"\x50\xf0\x00"])
def test_unknown_or_short_packets_are_corrupt(wire: bytes) -> None:
    with pytest.raises(CorruptPacket):
        classify(wire)


@pytest.mark.parametrize(
    "fields",
    [
        {"ccd": 0},
        {"ccd": 5},
        {"side": "G"},
        {"kind": "bias"},
        {"mode": 16},
        {"frame_counter": 0x1_0000},
        {"payload": b"\x01"},
        {"payload": bytes(0x1_0000)},
    ],
)
def test_impossible_fields_are_refused(fields: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "frame_counter": 0, "sequence_counter": 0, "ccd": 1, "side": "E", "payload": b"",
    }  # fmt: skip
    with pytest.raises(ArgumentError):
        DataPacket(**(arguments | fields))


def test_from_pixels_takes_uint16_only() -> None:
    with pytest.raises(ArgumentError, match="uint16"):
        DataPacket.from_pixels(
            np.zeros(3, dtype=np.int32),
            frame_counter=0, sequence_counter=0, ccd=1, side="E",
        )  # fmt: skip
    native = np.arange(6, dtype=np.uint16).reshape(2, 3)
    packet = DataPacket.from_pixels(native, frame_counter=0, sequence_counter=0, ccd=1, side="E")
    assert packet.pixels.tolist() == list(range(6))
