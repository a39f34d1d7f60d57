"""FEE packets: housekeeping and image data, on protocol id 0xF0 (our own layout).

Every FEE packet has a 10-byte header, big-endian, then its payload::

    byte  0      logical address of the receiver (the DPU, 0x50 by default)
    byte  1      protocol id 0xF0
    bytes 2-3    length: the number of payload bytes after the header (0..65535)
    bytes 4-5    type, a bit field:
                   bits 0-1   kind: 0 data, 1 overscan, 2 housekeeping (3 is refused)
                   bits 2-3   reserved, 0
                   bits 4-5   CCD number - 1 (CCDs 1..4)
                   bit  6     CCD side: 0 E, 1 F
                   bit  7     last packet of this CCD side's readout of this frame
                   bits 8-11  FEE mode (0..15, the FEE model's numbers)
                   bits 12-15 reserved, 0
    bytes 6-7    frame counter
    bytes 8-9    sequence counter: +1 for every FEE packet on the link, wraps at 65536
    bytes 10-    payload: the HK area's bytes, or pixels as big-endian uint16

A housekeeping packet has CCD, side and last bits 0. A data or overscan packet
has an even payload length. The length field must equal the bytes that
follow the header: a truncated or padded packet is corrupt, not guessed at.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire.crc import BytesLike
from controlroom.device.spacewire.errors import CorruptPacket
from controlroom.device.spacewire.rmap import RMAP_PROTOCOL_ID, RmapPacket, parse_rmap

FEE_PROTOCOL_ID = 0xF0
DPU_LOGICAL_ADDRESS = 0x50
HEADER = struct.Struct(">BBHHHH")
PIXEL = np.dtype(">u2")
Kind = Literal["data", "overscan"]
Side = Literal["E", "F"]

_KINDS: tuple[Kind, Kind] = ("data", "overscan")
_HOUSEKEEPING = 2
_RESERVED_BITS = 0xF00C


@dataclass(frozen=True)
class HousekeepingPacket:
    """The FEE's housekeeping, sent right after each timecode."""

    frame_counter: int
    sequence_counter: int
    data: bytes | memoryview
    mode: int = 0
    logical_address: int = DPU_LOGICAL_ADDRESS

    def __post_init__(self) -> None:
        _check_header_fields(self.frame_counter, self.sequence_counter, self.mode, self.data)

    def encode(self) -> bytes:
        return b"".join((_header(self, len(self.data), _HOUSEKEEPING), self.data))


@dataclass(frozen=True)
class DataPacket:
    """A slice of one CCD side's readout: image rows (``data``) or ``overscan``."""

    frame_counter: int
    sequence_counter: int
    ccd: int
    side: Side
    payload: bytes | memoryview
    kind: Kind = "data"
    last: bool = False
    mode: int = 0
    logical_address: int = DPU_LOGICAL_ADDRESS

    def __post_init__(self) -> None:
        _check_header_fields(self.frame_counter, self.sequence_counter, self.mode, self.payload)
        _check_data_fields(self.ccd, self.side, self.kind)
        if len(self.payload) % 2:
            raise ArgumentError(f"pixels are 2 bytes: an odd payload of {len(self.payload)}")

    @classmethod
    def from_pixels(
        cls, pixels: npt.NDArray[np.uint16], *, frame_counter: int, sequence_counter: int,
        ccd: int, side: Side, kind: Kind = "data", last: bool = False, mode: int = 0,
        logical_address: int = DPU_LOGICAL_ADDRESS,
    ) -> DataPacket:  # fmt: skip
        """A packet carrying ``pixels`` (uint16, any shape; sent in C order)."""
        if pixels.dtype.kind != "u" or pixels.dtype.itemsize != 2:
            raise ArgumentError(f"pixels are uint16, not {pixels.dtype}")
        payload = np.ascontiguousarray(pixels, dtype=PIXEL).tobytes()
        return cls(
            frame_counter, sequence_counter, ccd, side, payload, kind, last, mode, logical_address
        )

    @property
    def pixels(self) -> npt.NDArray[np.uint16]:
        """The payload as big-endian uint16, a read-only view on the packet: no copy."""
        return np.frombuffer(self.payload, dtype=PIXEL)

    def encode(self) -> bytes:
        bits = _data_bits(self.kind, self.ccd, self.side) | self.last << 7
        return b"".join((_header(self, len(self.payload), bits), self.payload))


@dataclass(frozen=True)
class DataHeader:
    """The header of a run of data packets, written in place into a sender's buffer.

    A sender that lays a readout's pixels out as packets (a header's room, then
    the payload, packet after packet) writes each header as its packet goes:
    the fields here are the run's, checked once; the length, the sequence
    counter and the last flag are the packet's. No payload is copied.
    """

    frame_counter: int
    ccd: int
    side: Side
    kind: Kind = "data"
    mode: int = 0
    logical_address: int = DPU_LOGICAL_ADDRESS

    def __post_init__(self) -> None:
        _check_header_fields(self.frame_counter, 0, self.mode, b"")
        _check_data_fields(self.ccd, self.side, self.kind)
        # The run's type bits, once: a full frame is over a thousand packets.
        bits = _data_bits(self.kind, self.ccd, self.side) | self.mode << 8
        object.__setattr__(self, "_bits", bits)

    def pack_into(
        self, buffer: bytearray | memoryview, offset: int, length: int, sequence: int, last: bool
    ) -> None:
        """Write the header of a packet of ``length`` payload bytes at ``buffer[offset:]``."""
        if not (0 <= length <= 0xFFFF and length % 2 == 0 and 0 <= sequence <= 0xFFFF):
            raise ArgumentError(f"payload {length} bytes (even, < 65536), sequence {sequence}")
        bits: int = self._bits | last << 7  # type: ignore[attr-defined]
        address, frame = self.logical_address, self.frame_counter
        HEADER.pack_into(buffer, offset, address, FEE_PROTOCOL_ID, length, bits, frame, sequence)


FeePacket = HousekeepingPacket | DataPacket
Packet = RmapPacket | FeePacket


def classify(packet: BytesLike) -> Packet:
    """The RMAP or FEE packet in ``packet``; CorruptPacket for anything else.

    FEE payloads are views on ``packet`` (not copies): keep it unchanged while
    they are in use.
    """
    if len(packet) < 2:
        raise CorruptPacket(f"a packet of {len(packet)} bytes has no protocol id")
    if packet[1] == RMAP_PROTOCOL_ID:
        return parse_rmap(packet)
    if packet[1] == FEE_PROTOCOL_ID:
        return parse_fee(packet)
    raise CorruptPacket(f"unknown protocol id {packet[1]:#04x} (RMAP is 0x01, FEE 0xF0)")


def parse_fee(packet: BytesLike) -> FeePacket:
    """The housekeeping or data packet in ``packet`` (see the module for the layout)."""
    view = memoryview(packet)
    address, _, bits, frame, sequence = _fee_header(view)
    kind, mode = bits & 3, bits >> 8 & 0xF
    payload = view[HEADER.size :] if view.format == "B" else view.cast("B")[HEADER.size :]
    if kind == _HOUSEKEEPING:
        return HousekeepingPacket(frame, sequence, payload, mode, address)
    side: Side = "F" if bits & 0x40 else "E"
    ccd, last = (bits >> 4 & 3) + 1, bool(bits & 0x80)
    return DataPacket(frame, sequence, ccd, side, payload, _KINDS[kind], last, mode, address)


def check_fee(packet: BytesLike) -> None:
    """CorruptPacket unless ``packet`` is a well-formed FEE packet; builds nothing.

    What :func:`parse_fee` checks, for a link that only passes packets on.
    """
    _fee_header(memoryview(packet))


def _fee_header(view: memoryview) -> tuple[int, int, int, int, int]:
    """(address, length, type bits, frame, sequence) of a checked FEE packet."""
    if view.nbytes < HEADER.size:
        raise CorruptPacket(f"a FEE packet has a {HEADER.size}-byte header, this one {view.nbytes}")
    address, protocol, length, bits, frame, sequence = HEADER.unpack_from(view)
    if protocol != FEE_PROTOCOL_ID:
        raise CorruptPacket(
            f"protocol id {protocol:#04x} is not the FEE's ({FEE_PROTOCOL_ID:#04x})"
        )
    if length != view.nbytes - HEADER.size:
        raise CorruptPacket(
            f"FEE packet length field says {length} payload bytes, "
            f"it has {view.nbytes - HEADER.size}"
        )
    kind = bits & 3
    if bits & _RESERVED_BITS or kind == 3 or (kind == _HOUSEKEEPING and bits & 0xF0):
        raise CorruptPacket(f"FEE packet type {bits:#06x} has reserved bits set")
    if kind != _HOUSEKEEPING and length % 2:
        raise CorruptPacket(f"a FEE data packet of {length} bytes splits a pixel")
    return address, length, bits, frame, sequence


def _data_bits(kind: Kind, ccd: int, side: Side) -> int:
    return _KINDS.index(kind) | (ccd - 1) << 4 | (side == "F") << 6


def _check_header_fields(frame: int, sequence: int, mode: int, payload: BytesLike) -> None:
    if not (0 <= frame <= 0xFFFF and 0 <= sequence <= 0xFFFF):
        raise ArgumentError(f"frame and sequence counters are 0..65535, not {frame}, {sequence}")
    if not 0 <= mode <= 15:
        raise ArgumentError(f"the FEE mode is 0..15 in a packet header, not {mode}")
    if len(payload) > 0xFFFF:
        raise ArgumentError(f"a FEE packet carries at most 65535 bytes, not {len(payload)}")


def _check_data_fields(ccd: int, side: str, kind: str) -> None:
    if ccd not in (1, 2, 3, 4) or side not in ("E", "F"):
        raise ArgumentError(f"CCD 1..4 and side E or F, not CCD {ccd} side {side}")
    if kind not in _KINDS:
        raise ArgumentError(f"a data packet is 'data' or 'overscan', not {kind!r}")


def _header(packet: FeePacket, length: int, bits: int) -> bytes:
    address, frame, sequence = packet.logical_address, packet.frame_counter, packet.sequence_counter
    return HEADER.pack(address, FEE_PROTOCOL_ID, length, bits | packet.mode << 8, frame, sequence)
