"""MemoryTarget: the answers and statuses of an RMAP target on a memory map."""

from __future__ import annotations

import pytest
from rmap_vectors import DATA_0, READ_1, READ_REPLY_1, WRITE_0, WRITE_REPLY_0

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire import (
    CorruptPacket,
    MemoryTarget,
    RmapReadRequest,
    RmapWriteRequest,
    Status,
)


def standard_target(memory: bytearray) -> MemoryTarget:
    """The target of the standard's patterns: logical address 0xFE, key 0, at 0xA0000000."""
    return MemoryTarget(memory, base_address=0xA000_0000, logical_address=0xFE, key=0)


def test_answers_the_standards_read_and_write_with_the_standards_replies() -> None:
    memory = bytearray(64)
    target = standard_target(memory)
    assert target.answer_packet(WRITE_0) == WRITE_REPLY_0
    assert memory[:16] == DATA_0
    assert target.answer_packet(READ_1) == READ_REPLY_1
    assert target.counters.as_dict() == {
        "reads": 1, "writes": 1, "refused_writes": 0, "errors": 0, "not_commands": 0,
    }  # fmt: skip


def read(address: int, length: int = 4, **fields: object) -> RmapReadRequest:
    arguments: dict[str, object] = {"key": 0xD1, "increment": True} | fields
    return RmapReadRequest(0x51, 0x50, 1, address, length, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (read(0x100), Status.SUCCESS),
        (read(0x13C), Status.SUCCESS),  # the last word
        (read(0x13D), Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED),  # runs past the end
        (read(0x0FC), Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED),  # before the start
        (read(0x100, 33), Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED),  # longer than allowed
        (read(0x100, increment=False), Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED),
        (read(0x100, key=0x00), Status.INVALID_KEY),
        (
            RmapReadRequest(0x52, 0x50, 1, 0x100, 4, key=0xD1),
            Status.INVALID_TARGET_LOGICAL_ADDRESS,
        ),
    ],
)
def test_statuses(request_: RmapReadRequest, status: Status) -> None:
    target = MemoryTarget(bytearray(range(64)), base_address=0x100, max_read_bytes=32)
    reply = target.answer(request_)
    assert reply is not None
    assert reply.status == status
    assert reply.transaction_id == request_.transaction_id
    if status == Status.SUCCESS:
        assert reply.encode()[12:-1] == bytes(range(64))[request_.address - 0x100 :][:4]
    assert target.counters.errors == (status != Status.SUCCESS)


def test_a_write_without_reply_lands_silently_and_a_refused_one_is_counted() -> None:
    memory = bytearray(8)
    allowed = [True, False]
    target = MemoryTarget(memory, write_hook=lambda address, data: allowed.pop(0))
    write = RmapWriteRequest(0x51, 0x50, 5, 0x4, b"\x01\x02\x03\x04", key=0xD1, reply=False)
    assert target.answer(write) is None
    assert memory == b"\x00" * 4 + b"\x01\x02\x03\x04"
    refused = RmapWriteRequest(0x51, 0x50, 6, 0x0, b"\xff" * 4, key=0xD1, reply=False)
    assert target.answer(refused) is None
    assert memory[:4] == b"\x00" * 4
    assert (target.counters.writes, target.counters.refused_writes) == (1, 1)
    assert target.counters.errors == 1


def test_only_commands_are_answered() -> None:
    target = standard_target(bytearray(64))
    with pytest.raises(ArgumentError, match="answers commands"):
        target.answer_packet(WRITE_REPLY_0)
    with pytest.raises(CorruptPacket):
        target.answer_packet(READ_1[:-1])


def test_memory_must_fit_the_32_bit_space() -> None:
    with pytest.raises(ArgumentError, match="32-bit"):
        MemoryTarget(bytearray(16), base_address=0xFFFF_FFF8)
