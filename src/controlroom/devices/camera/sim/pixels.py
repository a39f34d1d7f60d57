"""The FEE simulator's pixels: what a pulse reads out, laid out as packets, computed ahead.

The pixels are the synthetic sky of
:func:`~controlroom.devices.camera.images.synthetic_image` with the
simulator's seed in FULL_IMAGE, the test pattern in FULL_IMAGE_PATTERN; the
image's frame number is the pulse's frame counter, which every packet
carries, so a receiver can compute the expected pixels from the headers.

A readout is sent per CCD side, image data then serial overscan: four parts
at most. Each part is laid out in one buffer the way it goes on the link
(:mod:`.payloads`), computed in row blocks that are byte swapped into place
while they are still in the processor's cache; a packet is a slice of the
buffer once its header is written (:mod:`.packets`), so no pixel is copied
again before the link, and a buffer whose packets were sent is reused.

A worker thread computes the parts of a readout in the order they are sent,
ahead of the sender, and, once a pulse's readout is sent, the readout of the
pulse that will come next as the register map predicts it: the active map
for a short pulse (it cannot change before then), the pending map for a long
one (which loads it). A write in the command window may change what the long
pulse reads out: the prediction is made again, and parts nobody will send are
dropped. A part is identified by everything its pixels depend on, so a
prediction is used only when it is exactly what the pulse reads out. At most
two pulses' parts are held.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from controlroom.devices.camera.cycle import Pulse, PulseKind, readout_ccd
from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.geometry import PacketKind, Readout, Side
from controlroom.devices.camera.images import pattern_image, synthetic_image
from controlroom.devices.camera.modes import PixelSource, mode_from_code, pulse_content
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import PulsePlan
from controlroom.devices.camera.sim.payloads import (
    PartPackets,
    PayloadLayout,
    SparePayloads,
)

_KINDS: tuple[PacketKind, PacketKind] = ("data", "overscan")
BLOCK_PIXELS = 1 << 18  # a block's pixels and packets stay in a core's cache


class Part(NamedTuple):
    """One part of one side of a readout: what its pixels depend on."""

    source: PixelSource
    frame: int
    ccd: int
    side: Side
    kind: PacketKind
    readout: Readout


def part_pixels(seed: int, part: Part, rows: range | None = None) -> np.ndarray:
    """The pixels of ``part`` (uint16, rows x columns); ``rows``: only those of its rows."""
    readout = part.readout
    columns = _columns(part)
    rows = readout.rows if rows is None else rows
    if part.source is PixelSource.PATTERN:
        return pattern_image(part.frame, part.ccd, part.side, rows, columns)
    return synthetic_image(seed, part.frame, part.ccd, part.side, rows, columns)


def lay_out_part(seed: int, part: Part, buffer: bytearray | None = None) -> PartPackets:
    """The packets of ``part``, computed and laid out in row blocks (into ``buffer`` if it fits)."""
    rows, columns = part.readout.rows, len(_columns(part))
    layout = PayloadLayout(len(rows) * columns, part.readout.packet_size, buffer)
    step = max(1, BLOCK_PIXELS // columns)
    for first in range(rows.start, rows.stop, step):
        block = range(first, min(first + step, rows.stop))
        pixels = part_pixels(seed, part, block)
        layout.write((first - rows.start) * columns, pixels.reshape(-1))
    return layout.packets()


def _columns(part: Part) -> range:
    return part.readout.columns if part.kind == "data" else part.readout.overscan_columns


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
    """The packets of readout parts, laid out in one worker thread ahead of the sender.

    The sender takes a readout's parts in the order it sends them, and takes
    the next part (or prepares the next readout) only once the packets of
    the one before left: then that part's buffer is spare for the parts to come.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.hits = 0  # parts of a readout that were predicted a pulse ahead
        self.misses = 0  # parts that were not (the first readout, or the map changed)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="fee-pixels")
        self._ahead: dict[Part, Future[PartPackets]] = {}
        self._current: set[Part] = set()
        self._spare = SparePayloads()
        self._sending: PartPackets | None = None
        # The first image of a process builds its tables (0.6 s): not during a readout.
        self._worker.submit(synthetic_image, seed, 0, 1, Side.E, 1, 1)

    def prepare(self, parts: list[Part], *, current: bool = False) -> None:
        """Start computing ``parts`` (the pulse being sent if ``current``, else the next one)."""
        if current:
            self._sent()
            self._current = set(parts)
            predicted = sum(part in self._ahead for part in parts)
            self.hits += predicted
            self.misses += len(parts) - predicted
        keep = self._current | set(parts)
        for part in [p for p in self._ahead if p not in keep]:
            self._ahead.pop(part).cancel()  # a wrong prediction: drop it, running or not
        for part in parts:
            if part not in self._ahead:
                self._ahead[part] = self._worker.submit(self._packets, part)

    def take(self, part: Part) -> PartPackets:
        """The packets of ``part``; waits for the worker if they are not laid out yet.

        The packets of the part taken before must have left by now.
        """
        self._sent()
        future = self._ahead.pop(part, None)
        packets = self._packets(part) if future is None else future.result()
        self._sending = packets
        return packets

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()

    def _sent(self) -> None:
        if self._sending is not None:
            self._spare.give_back(self._sending.buffer)
            self._sending = None

    def _packets(self, part: Part) -> PartPackets:
        pixels = len(part.readout.rows) * len(_columns(part))
        size = PayloadLayout.size(pixels, part.readout.packet_size)
        return lay_out_part(self.seed, part, self._spare.take(size))
