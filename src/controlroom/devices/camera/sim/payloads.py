"""Pixels laid out the way they go on the link: packet after packet, header room then payload.

A part's packets live back to back in one buffer (:class:`PartPackets`):
packet ``i`` starts at ``i * stride``, leaves ``HEADER.size`` bytes for its
header (written as the packet is sent) and carries ``packet_size`` bytes of
big-endian pixels, the last packet fewer. :class:`PayloadLayout` writes
pixels into that buffer at any pixel index, so an image can be laid out in
row blocks as it is computed: each block is byte swapped into place while it
is still in the processor's cache, and no whole-side image is ever made.

Buffers are large (20 MB for a full side) and a full-frame stream needs
several a second; :class:`SparePayloads` keeps a few that were sent for the
next parts of the same size, so their pages are not faulted in and zeroed
again for every readout.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from controlroom.device.spacewire.packets import HEADER
from controlroom.devices.camera.geometry import BYTES_PER_PIXEL

SPARE_BUFFERS = 4  # kept for reuse: a readout's parts, with room for one computed ahead


class PartPackets(NamedTuple):
    """A part's packets back to back in ``buffer``: header room, then payload, per packet.

    Packet ``i`` starts at ``i * stride``; every packet but the last of the
    part carries ``stride - HEADER.size`` payload bytes.
    """

    buffer: bytearray
    stride: int


class PayloadLayout:
    """The packet buffer of ``pixels`` pixels in packets of ``packet_size`` bytes.

    ``buffer``, if given and of the right size, is reused (its old bytes are
    overwritten where pixels are written; headers are written when sent).
    """

    def __init__(self, pixels: int, packet_size: int, buffer: bytearray | None = None) -> None:
        self.per_packet = packet_size // BYTES_PER_PIXEL
        self.full, rest = divmod(pixels, self.per_packet)
        self.stride = HEADER.size + self.per_packet * BYTES_PER_PIXEL
        size = self.size(pixels, packet_size)
        self.buffer = buffer if buffer is not None and len(buffer) == size else bytearray(size)
        empty = np.empty(0, ">u2")
        self._grid = empty.reshape(0, self.per_packet)
        if self.full:
            self._grid = np.ndarray(
                (self.full, self.per_packet), ">u2", self.buffer, offset=HEADER.size,
                strides=(self.stride, BYTES_PER_PIXEL),
            )  # fmt: skip
        self._tail = empty
        if rest:
            at = self.full * self.stride + HEADER.size
            self._tail = np.ndarray((rest,), ">u2", self.buffer, offset=at)

    @staticmethod
    def size(pixels: int, packet_size: int) -> int:
        """The bytes of the buffer for ``pixels`` pixels."""
        per_packet = packet_size // BYTES_PER_PIXEL
        full, rest = divmod(pixels, per_packet)
        stride = HEADER.size + per_packet * BYTES_PER_PIXEL
        return full * stride + (HEADER.size + rest * BYTES_PER_PIXEL if rest else 0)

    def write(self, start: int, values: np.ndarray) -> None:
        """The pixels ``values`` (flat) at pixel indices ``start`` onwards, swapped as copied."""
        done, end = 0, start + values.size
        while start < end:
            packet, offset = divmod(start, self.per_packet)
            if packet >= self.full:
                count = end - start
                self._tail[offset : offset + count] = values[done:]
            elif offset == 0 and end - start >= self.per_packet:
                packets = min((end - start) // self.per_packet, self.full - packet)
                count = packets * self.per_packet
                whole = values[done : done + count].reshape(packets, self.per_packet)
                self._grid[packet : packet + packets] = whole
            else:
                count = min(self.per_packet - offset, end - start)
                self._grid[packet, offset : offset + count] = values[done : done + count]
            start, done = start + count, done + count

    def packets(self) -> PartPackets:
        return PartPackets(self.buffer, self.stride)


def lay_out(pixels: np.ndarray, packet_size: int) -> PartPackets:
    """``pixels`` (row-major) as big-endian payloads of ``packet_size`` bytes, headers left free."""
    layout = PayloadLayout(pixels.size, packet_size)
    layout.write(0, pixels.reshape(-1))
    return layout.packets()


class SparePayloads:
    """Packet buffers that were sent, kept for the next parts of the same size (thread-safe).

    A buffer goes back only once every packet in it left: the link copies
    packets it is given as views, so that is when the sender takes the next part.
    """

    def __init__(self, keep: int = SPARE_BUFFERS) -> None:
        self.keep = keep
        self._spare: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> bytearray | None:
        """A spare buffer of ``size`` bytes, or None (then the layout makes one)."""
        with self._lock:
            for index, buffer in enumerate(self._spare):
                if len(buffer) == size:
                    return self._spare.pop(index)
        return None

    def give_back(self, buffer: bytearray) -> None:
        with self._lock:
            if all(buffer is not spare for spare in self._spare):
                self._spare.append(buffer)
                del self._spare[: -self.keep or None]  # the oldest go first
