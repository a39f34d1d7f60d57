"""Assembling one pulse's data packets into CCD side images, checked against the expected readout.

The mirror says what the FEE reads out on this pulse (CCD, sides, rows and
columns); each side's image and overscan are filled straight from the
packets' big-endian pixels into native uint16 arrays (one copy, which also
frees the received messages). Where the storage lends memory (a writer
process's shared slot), the arrays lie there in the order the frame travels,
so a whole readout reaches the writer without another copy.

A readout is whole when every expected pixel came and its last packet was
seen. Anything else (a packet lost on the way, one for another CCD, more
pixels than expected) makes it incomplete with a reason; the parts that came
whole are kept, the others are left out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from controlroom.device.spacewire import DataPacket
from controlroom.devices.camera.dpu.commands import DpuError
from controlroom.devices.camera.geometry import Readout
from controlroom.devices.camera.storage.frames import SIDES

Lend = Callable[[int], "np.ndarray | None"]  # bytes wanted -> uint8 memory, or None

MAX_PROBLEMS = 8  # reasons kept per readout: enough to see what went wrong


class ReadoutAssembly:
    """The image and overscan pixels of one CCD readout, as its packets arrive."""

    def __init__(
        self, readout: Readout, ccd: int, frame_counter: int, lend: Lend | None = None
    ) -> None:
        self.readout = readout
        self.ccd = ccd
        self.frame_counter = frame_counter
        self.last_seen = False
        self.problems: list[str] = []
        self.packets = 0
        # In the order a frame's pixels travel: all image sides, then all overscan.
        self._shapes = {
            (kind, side): shape
            for kind, shape in (("data", readout.data_shape), ("overscan", readout.overscan_shape))
            for side in SIDES
            if side in {str(s) for s in readout.sides}
        }
        self._pixels: dict[tuple[str, str], np.ndarray] = {}
        self._filled: dict[tuple[str, str], int] = {}
        if lend is not None:
            self._lay_out_in(lend)

    def _lay_out_in(self, lend: Lend) -> None:
        """Every part's array in one block of lent memory, if the storage has one free."""
        sizes = [rows * cols for rows, cols in self._shapes.values()]
        block = lend(2 * sum(sizes))
        if block is None:
            return  # arrays of our own, made as their first packet comes
        offset = 0
        for key, size in zip(self._shapes, sizes, strict=True):
            self._pixels[key] = block[offset : offset + 2 * size].view(np.uint16)
            offset += 2 * size

    def add(self, packet: DataPacket) -> bool:
        """Take one packet; True when it was the readout's last."""
        self.packets += 1
        key = (packet.kind, packet.side)
        shape = self._shapes.get(key)
        if packet.ccd != self.ccd or shape is None:
            self._problem(
                f"a {packet.kind} packet of CCD {packet.ccd} side {packet.side}; "
                f"this readout is CCD {self.ccd} sides {''.join(self._sides())}"
            )
        elif packet.frame_counter != self.frame_counter & 0xFFFF:
            self._problem(f"a packet of frame {packet.frame_counter} in frame {self.frame_counter}")
        else:
            self._fill(key, shape, packet)
        self.last_seen = self.last_seen or packet.last
        return packet.last

    @property
    def complete(self) -> bool:
        whole = all(
            self._filled.get(key, 0) == shape[0] * shape[1] for key, shape in self._shapes.items()
        )
        return self.last_seen and whole and not self.problems

    def interrupted(self, why: str) -> None:
        """The readout ended before its last packet (a timecode came, time ran out)."""
        self._problem(why)

    def images(self, kind: str) -> dict[tuple[int, str], np.ndarray]:
        """The sides of ``kind`` ("data" or "overscan") that came whole, (rows, columns) each."""
        whole: dict[tuple[int, str], np.ndarray] = {}
        for (part, side), shape in self._shapes.items():
            if part == kind and self._filled.get((part, side), 0) == shape[0] * shape[1]:
                whole[(self.ccd, side)] = self._pixels[(part, side)].reshape(shape)
        return whole

    def missing(self) -> str:
        """What did not come, in words, for the report of an incomplete frame."""
        short = [
            f"{kind} {side}: {self._filled.get((kind, side), 0)} of {rows * cols} pixels"
            for (kind, side), (rows, cols) in self._shapes.items()
            if self._filled.get((kind, side), 0) != rows * cols
        ]
        parts = [*self.problems, *short]
        if not self.last_seen:
            parts.append("no last packet")
        return "; ".join(parts) or "nothing"

    def _fill(self, key: tuple[str, str], shape: tuple[int, int], packet: DataPacket) -> None:
        pixels = packet.pixels
        size = shape[0] * shape[1]
        start = self._filled.get(key, 0)
        if start + pixels.size > size:
            self._problem(f"{packet.kind} {packet.side}: more than the {size} pixels expected")
            return
        target = self._pixels.get(key)
        if target is None:
            target = self._pixels[key] = np.empty(size, dtype=np.uint16)
        target[start : start + pixels.size] = pixels  # big-endian to native while copying
        self._filled[key] = start + pixels.size

    def _sides(self) -> list[str]:
        return [str(side) for side in self.readout.sides]

    def _problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


class ReadoutIncomplete(DpuError):
    """A frame's readout did not come in whole; the frame is stored marked incomplete."""
