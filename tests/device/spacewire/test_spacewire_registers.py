"""Register access over RMAP on a ZeroMQ link, against a MemoryTarget or a scripted peer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from spacewire_links import link_pair, running, serving

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire import (
    PACKET,
    TIMECODE,
    DataPacket,
    HousekeepingPacket,
    MemoryTarget,
    NoPacket,
    NoReply,
    PendingFull,
    RmapError,
    RmapReadReply,
    RmapReadRequest,
    SpaceWireOverZeroMQ,
    Status,
    classify,
)
from controlroom.testing.waiting import wait_until

MEMORY = bytes(range(256)) * 16  # 4 KiB at 0x1000


@pytest.fixture
def memory() -> bytearray:
    return bytearray(MEMORY)


@pytest.fixture
def dpu_with_target(memory: bytearray) -> Iterator[tuple[SpaceWireOverZeroMQ, MemoryTarget]]:
    target = MemoryTarget(memory, base_address=0x1000)
    with link_pair(max_read_bytes=256, reply_timeout_s=5.0) as (dpu, fee), serving(target, fee):
        yield dpu, target


def test_read_and_write_registers(
    dpu_with_target: tuple[SpaceWireOverZeroMQ, MemoryTarget], memory: bytearray
) -> None:
    dpu, target = dpu_with_target
    assert dpu.read_register(0x1004) == MEMORY[4:8]
    assert dpu.read_register(0x1010, length=16) == MEMORY[16:32]
    dpu.write_register(0x1008, b"\xca\xfe\xba\xbe")
    assert memory[8:12] == b"\xca\xfe\xba\xbe"
    assert dpu.read_register(0x1008) == b"\xca\xfe\xba\xbe"
    assert dpu.read_register(0x1003, length=3, strict=False) == MEMORY[3:6]
    assert (target.counters.reads, target.counters.writes) == (4, 1)
    assert dpu.counters.packets_out == dpu.counters.packets_in == 5


def test_read_memory_map_is_split_into_requests(
    dpu_with_target: tuple[SpaceWireOverZeroMQ, MemoryTarget],
) -> None:
    dpu, target = dpu_with_target
    assert dpu.read_memory_map(0x1001, 1000) == MEMORY[1:1001]
    assert target.counters.reads == 4  # 256 bytes at most per request


@pytest.mark.parametrize("address", [0x0FFC, 0x1FFE])  # below the memory, past its end
def test_access_outside_the_target_memory_is_an_rmap_error(
    dpu_with_target: tuple[SpaceWireOverZeroMQ, MemoryTarget], address: int
) -> None:
    dpu, target = dpu_with_target
    with pytest.raises(RmapError, match="status 10") as caught:
        dpu.read_register(address, strict=False)
    assert caught.value.status == Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED
    assert dpu.counters.rmap_errors == 1
    assert target.counters.errors == 1


def test_a_refused_write_is_an_rmap_error_and_counted(memory: bytearray) -> None:
    window_open = False
    seen: list[tuple[int, bytes]] = []

    def in_command_window(address: int, data: bytes) -> bool:
        seen.append((address, data))
        return window_open

    target = MemoryTarget(memory, base_address=0x1000, write_hook=in_command_window)
    with link_pair(reply_timeout_s=5.0) as (dpu, fee), serving(target, fee):
        with pytest.raises(RmapError, match="refused the write at 0x1000"):
            dpu.write_register(0x1000, b"\x11\x22\x33\x44")
        assert memory[:4] == MEMORY[:4]
        window_open = True
        dpu.write_register(0x1000, b"\x11\x22\x33\x44")
    assert memory[:4] == b"\x11\x22\x33\x44"
    assert seen == [(0x1000, b"\x11\x22\x33\x44")] * 2
    assert target.counters.refused_writes == 1
    assert dpu.counters.rmap_errors == 1


def test_a_wrong_key_is_refused_by_the_target(memory: bytearray) -> None:
    target = MemoryTarget(memory, base_address=0x1000, key=0xD1)
    with link_pair(key=0x20, reply_timeout_s=5.0) as (dpu, fee), serving(target, fee):
        with pytest.raises(RmapError, match="INVALID_KEY") as caught:
            dpu.read_register(0x1000)
    assert caught.value.status == Status.INVALID_KEY


def test_register_spans_are_checked_before_anything_is_sent() -> None:
    with link_pair(register_space=range(0x1000, 0x1100), max_read_bytes=64) as (dpu, _fee):
        with pytest.raises(ArgumentError, match="multiples of 4"):
            dpu.read_register(0x1002)
        with pytest.raises(ArgumentError, match="multiples of 4"):
            dpu.read_register(0x1000, length=6)
        with pytest.raises(ArgumentError, match="outside the registers"):
            dpu.read_register(0x10FC, length=8)
        with pytest.raises(ArgumentError, match=r"1\.\.64 bytes"):
            dpu.read_register(0x1000, length=128, strict=False)
        with pytest.raises(ArgumentError, match="4 bytes"):
            dpu.write_register(0x1000, b"\x01\x02")
        with pytest.raises(ArgumentError, match="outside the registers"):
            dpu.write_register(0x2000, b"\x01\x02\x03\x04")
        assert dpu.counters.packets_out == 0


def test_no_reply_within_the_timeout() -> None:
    with link_pair(reply_timeout_s=0.1) as (dpu, fee):
        with pytest.raises(NoReply, match="no RMAP reply to transaction 1"):
            dpu.read_register(0x0)
        _, request = fee.read_packet(timeout=5)  # the request did go out
        assert isinstance(classify(request), RmapReadRequest)


def hk(sequence: int) -> bytes:
    return HousekeepingPacket(frame_counter=3, sequence_counter=sequence, data=b"hk").encode()


def data(sequence: int) -> bytes:
    pixels = np.full(8, sequence, dtype=np.uint16)
    packet = DataPacket.from_pixels(
        pixels, frame_counter=3, sequence_counter=sequence, ccd=1, side="E"
    )
    return packet.encode()


def answer_after(fee: SpaceWireOverZeroMQ, before: list[bytes], stray: bool = False) -> None:
    """Peer: take one read request, send ``before`` (and a stray reply), then the answer."""
    _, wire = fee.read_packet(timeout=5)
    request = classify(wire)
    assert isinstance(request, RmapReadRequest)
    fee.send_timecode(9)
    for packet in before:
        fee.write_packet(packet)
    if stray:
        late = RmapReadReply(0x50, 0x51, (request.transaction_id + 100) & 0xFFFF, 0, b"late")
        fee.write_packet(late.encode())
    fee.write_packet(request.answer(Status.SUCCESS, b"\x00\x00\x00\x2a").encode())
    fee.write_packet(data(99))  # after the reply: stays on the link


def test_packets_arriving_during_a_wait_are_kept_in_order() -> None:
    with link_pair(reply_timeout_s=5.0) as (dpu, fee):
        with running(lambda: answer_after(fee, [hk(1), data(2), data(3)])):
            assert dpu.read_register(0x0) == b"\x00\x00\x00\x2a"
        expected = [
            (TIMECODE, b"\x09"),
            *((PACKET, p) for p in (hk(1), data(2), data(3), data(99))),
        ]
        assert [dpu.read_packet(timeout=5) for _ in expected] == expected
        assert dpu.counters.stray_replies == 0


def test_packets_kept_during_a_wait_and_those_after_it_come_parsed_as_the_link_read_them() -> None:
    with link_pair(reply_timeout_s=5.0) as (dpu, fee):
        with running(lambda: answer_after(fee, [hk(1), data(2)])):
            dpu.read_register(0x0)
        read = [dpu.read_parsed(timeout=5) for _ in range(4)]  # three kept, one after
    assert [(flags, data) for flags, data, _ in read] == [
        (TIMECODE, b"\x09"), (PACKET, hk(1)), (PACKET, data(2)), (PACKET, data(99)),
    ]  # fmt: skip
    assert read[0][2] is None
    assert [classify(wire) == parsed for _, wire, parsed in read[1:]] == [True] * 3


def test_a_reply_to_an_unknown_transaction_is_counted_and_ignored() -> None:
    with link_pair(reply_timeout_s=5.0) as (dpu, fee):
        with running(lambda: answer_after(fee, [data(1)], stray=True)):
            assert dpu.read_register(0x0) == b"\x00\x00\x00\x2a"
        assert dpu.counters.stray_replies == 1
        assert dpu.read_packet(timeout=5) == (TIMECODE, b"\x09")
        assert dpu.read_packet(timeout=5) == (PACKET, data(1))
        assert dpu.read_packet(timeout=5) == (PACKET, data(99))


def test_a_full_pending_buffer_raises_and_loses_nothing() -> None:
    sent = [data(n) for n in range(5)]
    with link_pair(reply_timeout_s=5.0, max_pending_packets=3) as (dpu, fee):
        with running(lambda: answer_after(fee, sent)):
            with pytest.raises(PendingFull, match="3 packets"):
                dpu.read_register(0x0)
        assert dpu.counters.pending_full == 1
        assert dpu.read_packet(timeout=5) == (TIMECODE, b"\x09")
        assert [dpu.read_packet(timeout=5) for _ in sent] == [(PACKET, p) for p in sent]
        _, reply = dpu.read_packet(timeout=5)  # the abandoned request's reply is still there
        assert isinstance(classify(reply), RmapReadReply)
        assert dpu.read_packet(timeout=5) == (PACKET, data(99))


def test_flush_forgets_kept_packets_too() -> None:
    with link_pair(reply_timeout_s=5.0) as (dpu, fee):
        with running(lambda: answer_after(fee, [data(1)])):
            dpu.read_register(0x0)
        assert dpu.read_packet(timeout=5) == (TIMECODE, b"\x09")  # data(1) is still kept

        def both_flushed() -> bool:  # data(99) follows the reply in its own time
            dpu.flush()
            return dpu.counters.flushed >= 2

        assert wait_until(both_flushed)
        assert dpu.counters.flushed == 2
        with pytest.raises(NoPacket):
            dpu.read_packet(timeout=0)
