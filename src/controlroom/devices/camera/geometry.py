"""CCD geometry, partial readout and the slicing of a readout into packets.

Each of the four CCDs has two sides, E and F, read out through their own
output. Per side the readout grid is ``ROWS`` x ``COLUMNS`` pixels (ours):

- rows 0..4509 are image rows, rows 4510..4539 parallel overscan (no light);
- columns 0..2254 are image columns, 2255..2269 serial overscan.

The register map selects the rows ``v_start..v_end`` (inclusive), the image
columns ``0..h_end`` and the sides (``sensor_sel``: bit 0 = E, bit 1 = F).
The selected image columns travel in *data* packets; the serial overscan
columns of the same rows travel in *overscan* packets. Each packet carries at
most ``packet_size`` bytes of big-endian 16-bit pixels, in row-major order;
the very last packet of a pulse's readout carries the last-packet flag.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.modes import mode_from_code, pulse_content
from controlroom.devices.camera.registers import RegisterMap

IMAGE_ROWS = 4510
PARALLEL_OVERSCAN_ROWS = 30
ROWS = IMAGE_ROWS + PARALLEL_OVERSCAN_ROWS
IMAGE_COLUMNS = 2255
SERIAL_OVERSCAN_COLUMNS = 15
COLUMNS = IMAGE_COLUMNS + SERIAL_OVERSCAN_COLUMNS
CCDS = (1, 2, 3, 4)
BYTES_PER_PIXEL = 2

PacketKind = Literal["data", "overscan"]


class Side(enum.StrEnum):
    """The two halves of a CCD, each with its own output."""

    E = "E"
    F = "F"


def sides_from_sensor_sel(sensor_sel: int) -> tuple[Side, ...]:
    """The sides ``sensor_sel`` selects, E first."""
    if sensor_sel not in (1, 2, 3):
        raise ReadoutError(f"sensor_sel {sensor_sel} selects no CCD side (1 = E, 2 = F, 3 = both)")
    return tuple(side for bit, side in ((1, Side.E), (2, Side.F)) if sensor_sel & bit)


@dataclass(frozen=True)
class PacketSlice:
    """One packet's share of a side: pixels ``start:stop`` of the flattened array."""

    kind: PacketKind
    side: Side
    start: int
    stop: int
    last: bool

    @property
    def nbytes(self) -> int:
        return (self.stop - self.start) * BYTES_PER_PIXEL


@dataclass(frozen=True)
class Readout:
    """What one CCD readout covers, checked against the grid."""

    v_start: int = 0
    v_end: int = ROWS - 1
    h_end: int = IMAGE_COLUMNS - 1
    sides: tuple[Side, ...] = (Side.E, Side.F)
    packet_size: int = 32768

    def __post_init__(self) -> None:
        if not 0 <= self.v_start <= self.v_end < ROWS:
            raise ReadoutError(
                f"v_start {self.v_start} .. v_end {self.v_end}: need 0 <= v_start <= v_end <= "
                f"{ROWS - 1}"
            )
        if not 0 <= self.h_end < IMAGE_COLUMNS:
            raise ReadoutError(
                f"h_end {self.h_end} beyond the last image column {IMAGE_COLUMNS - 1}"
            )
        if not self.sides:
            raise ReadoutError("sensor_sel selects no CCD side")
        if self.packet_size < BYTES_PER_PIXEL or self.packet_size % BYTES_PER_PIXEL:
            raise ReadoutError(f"packet_size {self.packet_size} must be an even number >= 2")

    @classmethod
    def from_registers(cls, registers: RegisterMap, *, pending: bool = False) -> Readout:
        """The readout the (active) register map asks for."""
        value = functools.partial(registers.get, pending=pending)
        return cls(
            v_start=value("v_start"),
            v_end=value("v_end"),
            h_end=value("h_end"),
            sides=sides_from_sensor_sel(value("sensor_sel")),
            packet_size=value("packet_size"),
        )

    @property
    def rows(self) -> range:
        return range(self.v_start, self.v_end + 1)

    @property
    def columns(self) -> range:
        """Image columns in the data packets."""
        return range(self.h_end + 1)

    @property
    def overscan_columns(self) -> range:
        """Serial overscan columns in the overscan packets."""
        return range(IMAGE_COLUMNS, COLUMNS)

    @property
    def data_shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.columns)

    @property
    def overscan_shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.overscan_columns)

    @property
    def pixel_bytes(self) -> int:
        """Pixel bytes of one CCD readout (all selected sides, data and overscan)."""
        pixels = len(self.rows) * (len(self.columns) + len(self.overscan_columns))
        return pixels * BYTES_PER_PIXEL * len(self.sides)

    def packets(self) -> list[PacketSlice]:
        """Every packet of one CCD readout: per side, data then overscan; the last flagged."""
        plan: list[PacketSlice] = []
        for side in self.sides:
            for kind, (rows, cols) in self._parts():
                for start, stop in pixel_slices(rows * cols, self.packet_size):
                    plan.append(PacketSlice(kind, side, start, stop, last=False))
        final = plan[-1]
        plan[-1] = PacketSlice(final.kind, final.side, final.start, final.stop, last=True)
        return plan

    @property
    def packet_count(self) -> int:
        per_packet = self.packet_size // BYTES_PER_PIXEL
        per_side = sum(-(-(rows * cols) // per_packet) for _, (rows, cols) in self._parts())
        return per_side * len(self.sides)

    def _parts(self) -> tuple[tuple[PacketKind, tuple[int, int]], ...]:
        return (("data", self.data_shape), ("overscan", self.overscan_shape))


FULL_FRAME = Readout()


def pixel_slices(pixels: int, max_payload_bytes: int) -> list[tuple[int, int]]:
    """Split ``pixels`` into consecutive ranges of at most ``max_payload_bytes``."""
    step = max_payload_bytes // BYTES_PER_PIXEL
    if step < 1:
        raise ReadoutError(f"packet payload of {max_payload_bytes} bytes holds no pixel")
    return [(start, min(start + step, pixels)) for start in range(0, pixels, step)]


def packet_pixels(pixels: np.ndarray, piece: PacketSlice) -> np.ndarray:
    """A packet's pixels: a view of the C-contiguous side array, flattened."""
    return pixels.reshape(-1)[piece.start : piece.stop]


def reassemble(shape: tuple[int, int], payloads: Iterable[np.ndarray]) -> np.ndarray:
    """Rebuild a side's data (or overscan) array from its packets' pixels, in order."""
    parts = list(payloads)
    flat = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint16)
    if flat.size != shape[0] * shape[1]:
        raise ReadoutError(f"{flat.size} pixels received, {shape[0]} x {shape[1]} expected")
    return flat.astype(np.uint16, copy=False).reshape(shape)


def frame_bytes(registers: RegisterMap, *, header_bytes: int = 0) -> int:
    """Bytes the FEE sends for one pulse's readout with this (active) register map.

    Zero unless the mode sends data; ``header_bytes`` per packet adds the
    framing overhead (the bench divides this by the scaled period for MB/s).
    """
    mode = mode_from_code(registers.get("ccd_mode_config"))
    if mode is None or not pulse_content(mode, registers.get("digitise_en")).sends_data:
        return 0
    readout = Readout.from_registers(registers)
    return readout.pixel_bytes + header_bytes * readout.packet_count
