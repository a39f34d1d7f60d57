"""The FEE simulator's outgoing packets: housekeeping, and readouts with their pixels.

Every FEE packet carries the next value of one sequence counter (+1 per
packet on the link, wrapping at 65536), so a receiver sees a gap when one is
lost. Packets are made one at a time as they are sent: a readout that is
abandoned (the link went down, the simulator is stopping) took no sequence
numbers for the packets it never sent. A readout is sent per CCD side, image
data then serial overscan, each part sliced into packets of at most
``packet_size`` pixel bytes (:mod:`controlroom.devices.camera.geometry`).

The pixels are the synthetic sky of
:func:`~controlroom.devices.camera.images.synthetic_image` with the
simulator's seed in FULL_IMAGE, the test pattern in FULL_IMAGE_PATTERN; the
image's frame number is the pulse's frame counter, which every packet
carries, so a receiver can compute the expected pixels from the headers.

A full-frame readout is 41 MB of synthetic sky, and computing it takes
longer than sending it. So a worker thread computes the parts of a readout
in the order they are sent, one part ahead of the sender, and, once a
pulse's readout is sent, the readout of the next pulse as the register map
predicts it: the active map for a short pulse (it cannot change before
then), the pending map for a long one (which loads it). A write in the
command window may change what the long pulse reads out: the prediction is
made again, and parts nobody will send are dropped. A part is identified by
everything its pixels depend on, so a prediction is used only when it is
exactly what the pulse reads out. At most two pulses' parts are held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from controlroom.device.spacewire import DPU_LOGICAL_ADDRESS, DataPacket, HousekeepingPacket
from controlroom.device.spacewire.packets import Side as PacketSide
from controlroom.devices.camera.cycle import Pulse, PulseKind, readout_ccd
from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.geometry import BYTES_PER_PIXEL, PacketKind, Readout, Side
from controlroom.devices.camera.images import pattern_image, synthetic_image
from controlroom.devices.camera.modes import PixelSource, mode_from_code, pulse_content
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import PulsePlan

_KINDS: tuple[PacketKind, PacketKind] = ("data", "overscan")


class Part(NamedTuple):
    """One part of one side of a readout: what its pixels depend on."""

    source: PixelSource
    frame: int
    ccd: int
    side: Side
    kind: PacketKind
    readout: Readout


def part_pixels(seed: int, part: Part) -> np.ndarray:
    """The pixels of ``part`` (uint16, rows x columns)."""
    readout = part.readout
    columns = readout.columns if part.kind == "data" else readout.overscan_columns
    if part.source is PixelSource.PATTERN:
        return pattern_image(part.frame, part.ccd, part.side, readout.rows, columns)
    return synthetic_image(seed, part.frame, part.ccd, part.side, readout.rows, columns)


def plan_parts(plan: PulsePlan) -> list[Part]:
    """The parts a pulse reads out, in the order they are sent (none without a readout)."""
    if plan.readout is None or plan.content.pixels is None:
        return []
    return _parts(plan.content.pixels, plan.frame_counter, plan.ccd, plan.readout)


def predicted_parts(registers: RegisterMap, pulse: Pulse) -> list[Part]:
    """The parts ``pulse`` will read out if the register map does not change before it."""
    pending = pulse.kind is PulseKind.LONG
    mode = mode_from_code(registers.get("ccd_mode_config", pending=pending))
    if mode is None:
        return []
    source = pulse_content(mode, registers.get("digitise_en", pending=pending)).pixels
    try:
        readout = Readout.from_registers(registers, pending=pending)
    except ReadoutError:
        return []
    if source is None:
        return []
    ccd = readout_ccd(registers.get("ccd_readout_order", pending=pending), pulse.position)
    return _parts(source, pulse.number & 0xFFFF, ccd, readout)


def _parts(source: PixelSource, frame: int, ccd: int, readout: Readout) -> list[Part]:
    return [
        Part(source, frame, ccd, side, kind, readout) for side in readout.sides for kind in _KINDS
    ]


class PixelPipeline:
    """The big-endian wire bytes of readout parts, computed ahead in one worker thread."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.hits = 0  # parts of a readout that were predicted a pulse ahead
        self.misses = 0  # parts that were not (the first readout, or the map changed)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="fee-pixels")
        self._ahead: dict[Part, Future[memoryview]] = {}
        self._current: set[Part] = set()
        # The first image of a process builds a noise table (0.1 s): not during a readout.
        self._worker.submit(synthetic_image, seed, 0, 1, Side.E, 1, 1)

    def prepare(self, parts: list[Part], *, current: bool = False) -> None:
        """Start computing ``parts`` (the pulse being sent if ``current``, else the next one)."""
        if current:
            self._current = set(parts)
            predicted = sum(part in self._ahead for part in parts)
            self.hits += predicted
            self.misses += len(parts) - predicted
        keep = self._current | set(parts)
        for part in [p for p in self._ahead if p not in keep]:
            self._ahead.pop(part).cancel()  # a wrong prediction: drop it, running or not
        for part in parts:
            if part not in self._ahead:
                self._ahead[part] = self._worker.submit(self._wire, part)

    def take(self, part: Part) -> memoryview:
        """The wire bytes of ``part``; waits for the worker if it is not done yet."""
        future = self._ahead.pop(part, None)
        return self._wire(part) if future is None else future.result()

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()

    def _wire(self, part: Part) -> memoryview:
        # One byte swap, no further copy: each packet's payload is a slice of this view.
        return part_pixels(self.seed, part).astype(">u2").data.cast("B")


SEQUENCE_MODULO = 1 << 16

# wire_of(part): the big-endian pixel bytes of one part of a readout.
WireSource = Callable[[Part], memoryview]


class PacketMaker:
    """Encodes the FEE's packets for the DPU at ``logical_address``, numbering them."""

    def __init__(self, logical_address: int = DPU_LOGICAL_ADDRESS) -> None:
        self.logical_address = logical_address
        self.sequence = 0  # the sequence counter of the next packet

    def housekeeping(self, plan: PulsePlan, area: bytes) -> bytes:
        """The HK packet of a pulse, carrying the housekeeping area as it is now."""
        packet = HousekeepingPacket(
            plan.frame_counter, self._take(), area, int(plan.mode), self.logical_address
        )
        return packet.encode()

    def readout(self, plan: PulsePlan, wire_of: WireSource) -> Iterator[bytes]:
        """The data and overscan packets of the pulse's readout, in order, the last flagged.

        ``wire_of(part)`` gives the big-endian bytes of each part, when its first
        packet is due.
        """
        parts = {(part.side, part.kind): part for part in plan_parts(plan)}
        if plan.readout is None or not parts:
            return
        wire = memoryview(b"")
        current: Part | None = None
        for piece in plan.readout.packets():
            if current is None or (current.side, current.kind) != (piece.side, piece.kind):
                current = parts[piece.side, piece.kind]
                wire = wire_of(current)
            side: PacketSide = "F" if piece.side is Side.F else "E"
            packet = DataPacket(
                plan.frame_counter, self._take(), plan.ccd, side,
                wire[piece.start * BYTES_PER_PIXEL : piece.stop * BYTES_PER_PIXEL],
                piece.kind, piece.last, int(plan.mode), self.logical_address,
            )  # fmt: skip
            yield packet.encode()

    def _take(self) -> int:
        sequence = self.sequence
        self.sequence = (sequence + 1) % SEQUENCE_MODULO
        return sequence
