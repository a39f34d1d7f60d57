"""RMAP (ECSS-E-ST-50-52C) read and write commands and their replies.

Byte layouts, as they arrive after the SpaceWire path address was stripped on
the way (this link is point to point: there is none). ``CRC`` is :func:`rmap_crc8`
over the bytes before it in the same field.

Command (16 + R header bytes)::

    target LA | 0x01 | instruction | key | reply address (R bytes) | initiator LA
    | transaction id (2) | extended address | address (4) | data length (3) | CRC
    [write: data (data length bytes) | CRC]

Write reply (8 bytes)::  initiator LA | 0x01 | instruction | status | target LA | tid (2) | CRC
Read reply (12 + data)::  initiator LA | 0x01 | instruction | status | target LA | tid (2)
                          | reserved 0 | data length (3) | CRC | data | CRC

Instruction bits: 7-6 packet type (01 command, 00 reply), 5 write, 4 verify
before writing, 3 reply wanted, 2 increment address, 1-0 reply address length
in 4-byte words. A reply repeats its command's instruction with the type
bits cleared. Multi-byte fields are big-endian.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.device.spacewire.crc import BytesLike, rmap_crc8
from controlroom.device.spacewire.errors import CorruptPacket, Status

RMAP_PROTOCOL_ID = 0x01
COMMAND = 0x40
WRITE = 0x20
VERIFY = 0x10
REPLY = 0x08
INCREMENT = 0x04
MAX_DATA_LENGTH = (1 << 24) - 1


def _instruction(codes: int, reply_address: bytes) -> int:
    if len(reply_address) % 4 or len(reply_address) > 12:
        raise ValueError(f"a reply address is 0, 4, 8 or 12 bytes, not {len(reply_address)}")
    return codes | len(reply_address) // 4


def _command(fields: RmapReadRequest | RmapWriteRequest, codes: int, length: int) -> bytes:
    for name, value, top in (
        ("transaction_id", fields.transaction_id, 0xFFFF),
        ("address", fields.address, 0xFFFF_FFFF),
        ("data length", length, MAX_DATA_LENGTH),
    ):
        if not 0 <= value <= top:
            raise ValueError(f"RMAP {name} must be 0..{top:#x}, not {value}")
    header = bytearray((fields.target_logical_address, RMAP_PROTOCOL_ID))
    header += bytes((_instruction(codes, fields.reply_address), fields.key))
    header += fields.reply_address
    header.append(fields.initiator_logical_address)
    header += fields.transaction_id.to_bytes(2, "big")
    header.append(fields.extended_address)
    header += fields.address.to_bytes(4, "big") + length.to_bytes(3, "big")
    header.append(rmap_crc8(header))
    return bytes(header)


@dataclass(frozen=True)
class RmapReadRequest:
    """Read ``length`` bytes at ``address`` of the target's memory."""

    target_logical_address: int
    initiator_logical_address: int
    transaction_id: int
    address: int
    length: int
    key: int = 0
    extended_address: int = 0
    increment: bool = True
    reply_address: bytes = b""

    def encode(self) -> bytes:
        codes = COMMAND | REPLY | (INCREMENT if self.increment else 0)
        return _command(self, codes, self.length)

    def answer(self, status: int = Status.SUCCESS, data: BytesLike = b"") -> RmapReadReply:
        """The target's reply: the ``data`` read, or an error ``status`` (and no data)."""
        return RmapReadReply(
            self.initiator_logical_address, self.target_logical_address, self.transaction_id,
            status, bytes(data), self.increment, len(self.reply_address) // 4,
        )  # fmt: skip


@dataclass(frozen=True)
class RmapWriteRequest:
    """Write ``data`` at ``address``; ``reply``: the target acknowledges."""

    target_logical_address: int
    initiator_logical_address: int
    transaction_id: int
    address: int
    data: bytes
    key: int = 0
    extended_address: int = 0
    increment: bool = True
    verify: bool = True
    reply: bool = True
    reply_address: bytes = b""

    def encode(self) -> bytes:
        codes = COMMAND | WRITE | (INCREMENT if self.increment else 0)
        codes |= (VERIFY if self.verify else 0) | (REPLY if self.reply else 0)
        header = _command(self, codes, len(self.data))
        return b"".join((header, self.data, bytes((rmap_crc8(self.data),))))

    def answer(self, status: int = Status.SUCCESS) -> RmapWriteReply:
        """The target's reply to this write (sent only when ``reply`` is set)."""
        return RmapWriteReply(
            self.initiator_logical_address, self.target_logical_address, self.transaction_id,
            status, self.increment, self.verify, len(self.reply_address) // 4,
        )  # fmt: skip


@dataclass(frozen=True)
class RmapReadReply:
    """The data of a read, or its error status."""

    initiator_logical_address: int
    target_logical_address: int
    transaction_id: int
    status: int
    data: bytes = b""
    increment: bool = True
    reply_address_words: int = 0

    def encode(self) -> bytes:
        header = _reply_header(self, REPLY | (INCREMENT if self.increment else 0))
        header += b"\x00" + len(self.data).to_bytes(3, "big")  # reserved, data length
        header.append(rmap_crc8(header))
        return b"".join((header, self.data, bytes((rmap_crc8(self.data),))))


@dataclass(frozen=True)
class RmapWriteReply:
    """The acknowledgement of a write: its status."""

    initiator_logical_address: int
    target_logical_address: int
    transaction_id: int
    status: int
    increment: bool = True
    verify: bool = True
    reply_address_words: int = 0

    def encode(self) -> bytes:
        codes = WRITE | REPLY | (INCREMENT if self.increment else 0)
        header = _reply_header(self, codes | (VERIFY if self.verify else 0))
        header.append(rmap_crc8(header))
        return bytes(header)


def _reply_header(reply: RmapReadReply | RmapWriteReply, codes: int) -> bytearray:
    if not 0 <= reply.reply_address_words <= 3:
        raise ValueError(f"reply address words must be 0..3, not {reply.reply_address_words}")
    instruction = codes | reply.reply_address_words
    header = bytearray((reply.initiator_logical_address, RMAP_PROTOCOL_ID, instruction))
    header += bytes((reply.status, reply.target_logical_address))
    return header + reply.transaction_id.to_bytes(2, "big")


RmapPacket = RmapReadRequest | RmapWriteRequest | RmapReadReply | RmapWriteReply


def parse_rmap(packet: BytesLike) -> RmapPacket:
    """The command or reply in ``packet``; CorruptPacket if any check fails.

    Checked: protocol id, packet type and command code, header CRC, that the
    packet is exactly as long as its header (and data length) say, data CRC.
    Because every field is checked up to its CRC and the whole packet must be
    covered, a single flipped bit is always caught, even one in the
    instruction that makes the packet read as another kind.
    """
    view = memoryview(packet).cast("B")
    if len(view) < 8:
        raise CorruptPacket(f"an RMAP packet has at least 8 bytes, this one has {len(view)}")
    if view[1] != RMAP_PROTOCOL_ID:
        raise CorruptPacket(f"protocol id {view[1]:#04x} is not RMAP ({RMAP_PROTOCOL_ID:#04x})")
    instruction = view[2]
    if instruction & 0x80:
        raise CorruptPacket(f"instruction {instruction:#04x} has a reserved packet type")
    if instruction & COMMAND:
        return _parse_command(view, instruction)
    if not instruction & REPLY:
        raise CorruptPacket(f"instruction {instruction:#04x}: a reply without the reply bit")
    if instruction & WRITE:
        header = _header(view, 8, "write reply", exact=True)
        return RmapWriteReply(
            header[0], header[4], _number(header[5:7]), header[3],
            bool(instruction & INCREMENT), bool(instruction & VERIFY), instruction & 3,
        )  # fmt: skip
    header = _header(view, 12, "read reply", exact=False)
    if instruction & VERIFY or header[7]:
        raise CorruptPacket(f"read reply: verify bit or reserved byte set ({header[7]:#04x})")
    data = _data(view, 12, _number(header[8:11]), "read reply")
    return RmapReadReply(
        header[0], header[4], _number(header[5:7]), header[3], data,
        bool(instruction & INCREMENT), instruction & 3,
    )  # fmt: skip


def _parse_command(view: memoryview, instruction: int) -> RmapReadRequest | RmapWriteRequest:
    write = bool(instruction & WRITE)
    if not write and instruction & (VERIFY | REPLY) != REPLY:
        kind = "read-modify-write" if instruction & VERIFY else "a read without reply"
        raise CorruptPacket(f"instruction {instruction:#04x}: {kind} is not supported")
    what = "write command" if write else "read command"
    at = 4 + 4 * (instruction & 3)  # the initiator logical address follows the reply address
    header = _header(view, at + 12, what, exact=not write)
    tla, ila, key, extended = header[0], header[at], header[3], header[at + 3]
    reply_address, tid = bytes(header[4:at]), _number(header[at + 1 : at + 3])
    address, length = _number(header[at + 4 : at + 8]), _number(header[at + 8 : at + 11])
    increment = bool(instruction & INCREMENT)
    if not write:
        return RmapReadRequest(
            tla, ila, tid, address, length, key, extended, increment, reply_address
        )
    return RmapWriteRequest(
        tla, ila, tid, address, _data(view, at + 12, length, what), key, extended, increment,
        bool(instruction & VERIFY), bool(instruction & REPLY), reply_address,
    )  # fmt: skip


def _number(field: memoryview) -> int:
    return int.from_bytes(field, "big")


def _header(view: memoryview, size: int, what: str, *, exact: bool) -> memoryview:
    """The header's bytes, CRC checked; ``exact``: nothing may follow it (no data field)."""
    if len(view) < size or (exact and len(view) != size):
        raise CorruptPacket(f"{what}: a {size}-byte header, but the packet has {len(view)} bytes")
    if rmap_crc8(view[:size]) != 0:
        raise CorruptPacket(f"{what}: header CRC {view[size - 1]:#04x} does not match")
    return view[:size]


def _data(view: memoryview, start: int, length: int, what: str) -> bytes:
    if len(view) != start + length + 1:
        raise CorruptPacket(
            f"{what} announces {length} data bytes (a {start + length + 1}-byte packet) "
            f"but has {len(view)} bytes"
        )
    if rmap_crc8(view[start:]) != 0:
        raise CorruptPacket(f"{what}: data CRC {view[-1]:#04x} does not match its {length} bytes")
    return bytes(view[start : start + length])
