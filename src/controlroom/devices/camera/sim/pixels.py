"""The FEE simulator's pixels: what a pulse reads out, laid out as packets, computed ahead.

The pixels are the synthetic sky of
:func:`~controlroom.devices.camera.images.synthetic_image` with the
simulator's seed in FULL_IMAGE, the test pattern in FULL_IMAGE_PATTERN; the
image's frame number is the pulse's frame counter, which every packet
carries, so a receiver can compute the expected pixels from the headers.

A readout is sent per CCD side, image data then serial overscan: four parts
at most. Each part is laid out in one buffer the way it goes on the link,
packet after packet, each a header's room then its big-endian payload
(:class:`PartPackets`): the byte swap that big-endian needs anyway writes the
payloads in place, and a packet is a slice of the buffer once its header is
written (:mod:`.packets`), so no pixel is copied again before the link.

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

from controlroom.device.spacewire.packets import HEADER
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


class PartPackets(NamedTuple):
    """A part's packets back to back in ``buffer``: header room, then payload, per packet.

    Packet ``i`` starts at ``i * stride``; every packet but the last of the
    part carries ``readout.packet_size`` payload bytes.
    """

    buffer: bytearray
    stride: int


def part_pixels(seed: int, part: Part) -> np.ndarray:
    """The pixels of ``part`` (uint16, rows x columns)."""
    readout = part.readout
    columns = readout.columns if part.kind == "data" else readout.overscan_columns
    if part.source is PixelSource.PATTERN:
        return pattern_image(part.frame, part.ccd, part.side, readout.rows, columns)
    return synthetic_image(seed, part.frame, part.ccd, part.side, readout.rows, columns)


def lay_out(pixels: np.ndarray, packet_size: int) -> PartPackets:
    """``pixels`` (row-major) as big-endian payloads of ``packet_size`` bytes, headers left free."""
    flat = pixels.reshape(-1)
    per_packet = packet_size // BYTES_PER_PIXEL
    full, rest = divmod(flat.size, per_packet)
    stride = HEADER.size + per_packet * BYTES_PER_PIXEL
    buffer = bytearray(full * stride + (HEADER.size + rest * BYTES_PER_PIXEL if rest else 0))
    if full:
        payloads = np.ndarray(
            (full, per_packet), ">u2", buffer, offset=HEADER.size, strides=(stride, BYTES_PER_PIXEL)
        )
        payloads[...] = flat[: full * per_packet].reshape(full, per_packet)  # swaps as it copies
    if rest:
        tail = np.ndarray((rest,), ">u2", buffer, offset=full * stride + HEADER.size)
        tail[...] = flat[full * per_packet :]
    return PartPackets(buffer, stride)


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
    """The packets of readout parts, laid out in one worker thread ahead of the sender."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.hits = 0  # parts of a readout that were predicted a pulse ahead
        self.misses = 0  # parts that were not (the first readout, or the map changed)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="fee-pixels")
        self._ahead: dict[Part, Future[PartPackets]] = {}
        self._current: set[Part] = set()
        # The first image of a process builds its tables (0.6 s): not during a readout.
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
                self._ahead[part] = self._worker.submit(self._packets, part)

    def take(self, part: Part) -> PartPackets:
        """The packets of ``part``; waits for the worker if they are not laid out yet."""
        future = self._ahead.pop(part, None)
        return self._packets(part) if future is None else future.result()

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._ahead.clear()

    def _packets(self, part: Part) -> PartPackets:
        return lay_out(part_pixels(self.seed, part), part.readout.packet_size)
