"""A camera image as a PNG for people: 8-bit grayscale, contrast stretched.

The DPU control server's ``latest_image(ccd, side, max_size)`` answers with a
map: ``frame_counter``, ``ccd``, ``side``, ``shape`` (rows, columns),
``binning``, ``min``, ``max`` and ``pixels`` (uint16, little-endian, row
after row). :func:`image_png` checks that map (it came over the network: the
sizes must agree and stay bounded) and turns it into a PNG.

The contrast stretch maps the pixel values between two cut levels linearly
onto 0..255; values below the low cut are black, above the high cut white.
With ``stretch="percentile"`` (the default) the cuts are the ``low_pct`` and
``high_pct`` percentiles of the image (0.5 and 99.5: a few hot pixels or
bright stars do not wash the sky out); with ``stretch="minmax"`` they are the
image's own minimum and maximum. An image whose cuts are equal (a flat one)
is mid-grey, so it is visibly "there" and not mistaken for missing.

The PNG is written here with :mod:`zlib` and :mod:`struct` (signature, IHDR,
one IDAT, IEND, each chunk with its CRC-32): no imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from controlroom.device.errors import DeviceError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIDE = 8192  # rows or columns: the largest CCD readout the storage takes
FLAT_GREY = 128
STRETCHES: tuple[str, ...] = ("percentile", "minmax")


class PreviewError(DeviceError, ValueError):
    """An image map that cannot be shown; the message names the field that is wrong."""


def image_png(
    image: Mapping[str, Any],
    *,
    stretch: str = "percentile",
    low_pct: float = 0.5,
    high_pct: float = 99.5,
) -> bytes:
    """The PNG of a ``latest_image`` answer (see the module doc for the stretch)."""
    return encode_png(to_gray(image_pixels(image), stretch, low_pct, high_pct))


def image_pixels(image: Mapping[str, Any]) -> np.ndarray:
    """The pixels of a ``latest_image`` answer as a (rows, columns) uint16 array, checked."""
    if not isinstance(image, Mapping):
        raise PreviewError(f"image: a map with shape and pixels, not {type(image).__name__}")
    rows, cols = _shape(image.get("shape"))
    pixels = image.get("pixels")
    if not isinstance(pixels, bytes | bytearray | memoryview):
        raise PreviewError(f"pixels: bytes of uint16 values, not {type(pixels).__name__}")
    expected = rows * cols * 2
    if len(pixels) != expected:
        raise PreviewError(
            f"pixels: {len(pixels)} bytes, but shape {rows} x {cols} needs {expected}"
        )
    return np.frombuffer(pixels, dtype="<u2").reshape(rows, cols)


def _shape(shape: object) -> tuple[int, int]:
    if not isinstance(shape, list | tuple) or len(shape) != 2:
        raise PreviewError(f"shape: [rows, columns], not {shape!r}")
    rows, cols = shape
    for name, value in (("rows", rows), ("columns", cols)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise PreviewError(f"shape: {name} must be an integer, not {value!r}")
        if not 1 <= value <= MAX_SIDE:
            raise PreviewError(f"shape: {name} {value} is outside 1..{MAX_SIDE}")
    return int(rows), int(cols)


def cut_levels(
    pixels: np.ndarray, stretch: str, low_pct: float = 0.5, high_pct: float = 99.5
) -> tuple[float, float]:
    """The (low, high) values mapped to black and white."""
    if stretch == "minmax":
        return float(pixels.min()), float(pixels.max())
    if stretch != "percentile":
        raise PreviewError(f"stretch: one of {', '.join(STRETCHES)}, not {stretch!r}")
    if not 0.0 <= low_pct < high_pct <= 100.0:
        raise PreviewError(f"percentiles: need 0 <= low < high <= 100, not {low_pct}, {high_pct}")
    low, high = np.percentile(pixels, [low_pct, high_pct])
    return float(low), float(high)


def to_gray(
    pixels: np.ndarray, stretch: str = "percentile", low_pct: float = 0.5,
    high_pct: float = 99.5,
) -> np.ndarray:  # fmt: skip
    """``pixels`` stretched onto 0..255 (uint8) between its cut levels."""
    low, high = cut_levels(pixels, stretch, low_pct, high_pct)
    if high <= low:
        return np.full(pixels.shape, FLAT_GREY, np.uint8)
    scaled = (pixels.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def encode_png(gray: np.ndarray) -> bytes:
    """A (rows, columns) uint8 array as an 8-bit grayscale PNG, rows unfiltered."""
    if gray.ndim != 2 or gray.dtype != np.uint8 or 0 in gray.shape:
        raise PreviewError("encode_png takes a non-empty two-dimensional uint8 array")
    rows, cols = gray.shape
    header = struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0)  # 8 bit, grey, no interlace
    scanlines = np.zeros((rows, cols + 1), np.uint8)  # each row: filter type 0, then pixels
    scanlines[:, 1:] = gray
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Length, type, data and the CRC-32 of type and data, as the PNG format lays a chunk out."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
