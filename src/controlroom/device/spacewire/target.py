"""An RMAP target on a memory map: how a simulated FEE (and a test's peer) answers RMAP.

:class:`MemoryTarget` answers read and write commands from a ``bytearray``
mapped at ``base_address``. The statuses it answers with follow
ECSS-E-ST-50-52C: another logical address or key is refused as such; a span
outside the memory, a non-incrementing access (a FIFO, which plain memory
is not) or a read longer than ``max_read_bytes`` is "not implemented or not
authorised". A ``write_hook`` sees every write before it lands and may refuse
it (a FEE takes register writes only in the command window at the end of a
sync period): the reply then says "not authorised" and the refusal is
counted. Every reply with an error status is counted too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire.crc import BytesLike
from controlroom.device.spacewire.errors import NoPacket, Status
from controlroom.device.spacewire.interface import PACKET, SpaceWireInterface
from controlroom.device.spacewire.packets import classify
from controlroom.device.spacewire.rmap import (
    RmapReadReply,
    RmapReadRequest,
    RmapWriteReply,
    RmapWriteRequest,
    parse_rmap,
)

# Called as write_hook(address, data) before a write lands; False refuses it.
WriteHook = Callable[[int, bytes], bool]
_REFUSED = Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED


@dataclass
class TargetCounters:
    reads: int = 0  # read commands answered with data
    writes: int = 0  # writes that landed in the memory
    refused_writes: int = 0  # writes the hook refused
    errors: int = 0  # commands answered (or, without reply, dropped) with an error status
    not_commands: int = 0  # packets ``serve`` received that were no RMAP command

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class MemoryTarget:
    """Answers RMAP commands from ``memory`` (kept by reference: writes change it)."""

    def __init__(
        self,
        memory: bytearray,
        *,
        base_address: int = 0,
        logical_address: int = 0x51,
        key: int = 0xD1,
        write_hook: WriteHook | None = None,
        max_read_bytes: int = 0xFF_FFFF,
    ) -> None:
        if base_address < 0 or base_address + len(memory) > 1 << 32:
            raise ArgumentError(f"{len(memory)} bytes at {base_address:#x} leave the 32-bit space")
        self.memory = memory
        self.base_address = base_address
        self.logical_address = logical_address
        self.key = key
        self.write_hook = write_hook
        self.max_read_bytes = max_read_bytes
        self.counters = TargetCounters()

    @property
    def address_space(self) -> range:
        return range(self.base_address, self.base_address + len(self.memory))

    def answer(
        self, request: RmapReadRequest | RmapWriteRequest
    ) -> RmapReadReply | RmapWriteReply | None:
        """Carry out ``request``; its reply, or None for a write that asked for none."""
        status = self._status(request)
        if isinstance(request, RmapReadRequest):
            if status != Status.SUCCESS:
                self.counters.errors += 1
                return request.answer(status)
            self.counters.reads += 1
            start = request.address - self.base_address
            return request.answer(status, self.memory[start : start + request.length])
        if status == Status.SUCCESS:
            status = self._write(request)
        if status != Status.SUCCESS:
            self.counters.errors += 1
        return request.answer(status) if request.reply else None

    def answer_packet(self, packet: BytesLike) -> bytes | None:
        """The encoded reply to the command in ``packet`` (CorruptPacket if it is none)."""
        request = parse_rmap(packet)
        if not isinstance(request, RmapReadRequest | RmapWriteRequest):
            raise ArgumentError(f"a target answers commands, not {type(request).__name__}")
        reply = self.answer(request)
        return None if reply is None else reply.encode()

    def serve(self, link: SpaceWireInterface, stop: threading.Event, poll_s: float = 0.05) -> None:
        """Answer the commands arriving on ``link`` until ``stop`` is set (a test's peer)."""
        while not stop.is_set():
            try:
                flags, data = link.read_packet(timeout=poll_s)
            except NoPacket:
                continue
            packet = classify(data) if flags == PACKET else None
            if isinstance(packet, RmapReadRequest | RmapWriteRequest):
                reply = self.answer(packet)
                if reply is not None:
                    link.write_packet(reply.encode())
            else:
                self.counters.not_commands += 1

    def _status(self, request: RmapReadRequest | RmapWriteRequest) -> Status:
        if request.target_logical_address != self.logical_address:
            return Status.INVALID_TARGET_LOGICAL_ADDRESS
        if request.key != self.key:
            return Status.INVALID_KEY
        if isinstance(request, RmapReadRequest):
            length, too_long = request.length, request.length > self.max_read_bytes
        else:
            length, too_long = len(request.data), False
        if not request.increment or too_long:
            return _REFUSED
        space = self.address_space
        if request.address not in space or request.address + length > space.stop:
            return _REFUSED
        return Status.SUCCESS

    def _write(self, request: RmapWriteRequest) -> Status:
        if self.write_hook is not None and not self.write_hook(request.address, request.data):
            self.counters.refused_writes += 1
            return _REFUSED
        start = request.address - self.base_address
        self.memory[start : start + len(request.data)] = request.data
        self.counters.writes += 1
        return Status.SUCCESS
