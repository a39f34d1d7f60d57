"""SpaceWireInterface: one SpaceWire link to a camera FEE, whatever carries it.

The interface processes such as the DPU processor and the FEE simulator use,
and nothing more: ``connect``, ``disconnect``, ``configure``, ``flush``,
``send_timecode``, ``read_packet``, ``write_packet`` (from :class:`PacketLink`)
and the register access below, over RMAP on the same link.

A register request goes out with a fresh transaction id; the reply must
carry that id and pass its CRC checks. While it is awaited, the timecodes and
FEE packets that arrive are kept, in order, for the next ``read_packet``
calls; a reply that answers no waiting request (a late one after a timeout,
an unknown id) is counted as stray and logged. When too many packets were
kept, the request fails with PendingFull (counted); nothing is dropped.
"""

from __future__ import annotations

import logging
import time
from typing import TypedDict

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire.errors import (
    NoPacket,
    NoReply,
    RmapError,
    SpaceWireError,
    Status,
)
from controlroom.device.spacewire.link import (
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_MAX_PENDING_PACKETS,
    PACKET,
    TIMECODE,
    PacketLink,
)
from controlroom.device.spacewire.rmap import (
    RmapReadReply,
    RmapReadRequest,
    RmapWriteReply,
    RmapWriteRequest,
)

__all__ = ["PACKET", "TIMECODE", "InterfaceOptions", "SpaceWireInterface"]

_LOG = logging.getLogger(__name__)
REGISTER_BYTES = 4


class InterfaceOptions(TypedDict, total=False):
    """The settings of :class:`SpaceWireInterface`, for subclasses that pass them on."""

    target_logical_address: int
    initiator_logical_address: int
    key: int
    reply_timeout_s: float
    max_read_bytes: int
    register_space: range | None
    max_pending_packets: int
    max_pending_bytes: int
    name: str | None


class SpaceWireInterface(PacketLink):
    """A SpaceWire link to one FEE: packets, timecodes and its registers over RMAP.

    RMAP settings: the logical addresses of the target (the FEE) and of this
    initiator, the target's key, how long to wait for a reply, the largest
    read one request asks (longer ``read_memory_map`` calls are split), and
    ``register_space``: where ``read_register(strict=True)`` may read.
    """

    def __init__(
        self,
        *,
        target_logical_address: int = 0x51,
        initiator_logical_address: int = 0x50,
        key: int = 0xD1,
        reply_timeout_s: float = 2.0,
        max_read_bytes: int = 65536,
        register_space: range | None = None,
        max_pending_packets: int = DEFAULT_MAX_PENDING_PACKETS,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        name: str | None = None,
    ) -> None:
        super().__init__(
            max_pending_packets=max_pending_packets, max_pending_bytes=max_pending_bytes, name=name
        )
        if reply_timeout_s <= 0 or not REGISTER_BYTES <= max_read_bytes <= 0xFF_FFFF:
            raise ArgumentError("need reply_timeout_s > 0 and max_read_bytes in 4..16 MiB")
        self.target_logical_address = target_logical_address
        self.initiator_logical_address = initiator_logical_address
        self.key = key
        self.reply_timeout_s = reply_timeout_s
        self.max_read_bytes = max_read_bytes
        self.register_space = register_space
        self._transaction_id = 0

    def read_register(self, address: int, length: int = 4, strict: bool = True) -> bytes:
        """``length`` bytes from ``address``.

        ``strict``: registers are whole 32-bit words (address and length
        multiples of 4), in ``register_space`` when one was given, and at most
        ``max_read_bytes``; without it any span a single request can read.
        """
        if not 0 < length <= self.max_read_bytes:
            raise ArgumentError(f"read 1..{self.max_read_bytes} bytes per request, not {length}")
        if strict:
            self._check_register_span(address, length)
        return self._read(address, length)

    def write_register(self, address: int, data: bytes) -> None:
        """Write one 32-bit register (4 bytes, big-endian as the FEE stores it)."""
        if len(data) != REGISTER_BYTES:
            raise ArgumentError(f"a register write is 4 bytes, not {len(data)}")
        self._check_register_span(address, REGISTER_BYTES)
        request = RmapWriteRequest(
            self.target_logical_address, self.initiator_logical_address,
            self._take_transaction_id(), address, bytes(data), self.key,
        )  # fmt: skip
        self._transact(request, RmapWriteReply)

    def read_memory_map(self, address: int, size: int) -> bytes:
        """``size`` bytes from ``address`` on, in requests of at most ``max_read_bytes``."""
        if size <= 0 or address < 0 or address + size > 1 << 32:
            raise ArgumentError(f"cannot read {size} bytes at {address:#x} of a 32-bit space")
        step = self.max_read_bytes
        return b"".join(
            self._read(start, min(step, address + size - start))
            for start in range(address, address + size, step)
        )

    def _check_register_span(self, address: int, length: int) -> None:
        if address % REGISTER_BYTES or length % REGISTER_BYTES:
            raise ArgumentError(
                f"registers are 32-bit words: address {address:#x} and length {length} "
                "must be multiples of 4 (strict=False reads any span)"
            )
        space = self.register_space
        if space is not None and (address not in space or address + length - 1 not in space):
            raise ArgumentError(
                f"{length} bytes at {address:#x} are outside the registers "
                f"{space.start:#x}..{space.stop - 1:#x}"
            )

    def _read(self, address: int, length: int) -> bytes:
        request = RmapReadRequest(
            self.target_logical_address, self.initiator_logical_address,
            self._take_transaction_id(), address, length, self.key,
        )  # fmt: skip
        reply = self._transact(request, RmapReadReply)
        assert isinstance(reply, RmapReadReply)  # _transact returns the kind it was given
        if len(reply.data) != length:
            raise SpaceWireError(
                f"{self.name}: asked {length} bytes at {address:#x}, got {len(reply.data)}"
            )
        return reply.data

    def _take_transaction_id(self) -> int:
        self._transaction_id = (self._transaction_id + 1) & 0xFFFF
        return self._transaction_id

    def _transact(
        self,
        request: RmapReadRequest | RmapWriteRequest,
        kind: type[RmapReadReply] | type[RmapWriteReply],
    ) -> RmapReadReply | RmapWriteReply:
        """Send ``request`` and return its reply, keeping what else arrives meanwhile."""
        self._check_pending_room()  # a request that could not wait is not sent at all
        self.write_packet(request.encode())
        deadline = time.monotonic() + self.reply_timeout_s
        while True:
            self._check_pending_room()
            try:
                flags, data, packet = self._next(deadline)
            except NoPacket:
                raise NoReply(
                    f"{self.name}: no RMAP reply to transaction {request.transaction_id} "
                    f"(address {request.address:#x}) within {self.reply_timeout_s} s"
                ) from None
            if not isinstance(packet, RmapReadReply | RmapWriteReply):
                self._keep(flags, data)
            elif isinstance(packet, kind) and packet.transaction_id == request.transaction_id:
                return self._succeeded(packet, request.address)
            else:
                self.counters.stray_replies += 1
                _LOG.warning(
                    "%s: RMAP reply to transaction %d ignored while waiting for %d",
                    self.name,
                    packet.transaction_id,
                    request.transaction_id,
                )

    def _succeeded(
        self, reply: RmapReadReply | RmapWriteReply, address: int
    ) -> RmapReadReply | RmapWriteReply:
        if reply.status == Status.SUCCESS:
            return reply
        self.counters.rmap_errors += 1
        try:
            status = Status(reply.status).name
        except ValueError:
            status = "reserved"
        action = "write" if isinstance(reply, RmapWriteReply) else "read"
        raise RmapError(
            f"{self.name}: the target refused the {action} at {address:#x}: "
            f"status {reply.status} ({status})",
            reply.status,
        )
