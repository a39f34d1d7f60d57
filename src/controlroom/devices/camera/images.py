"""Synthetic CCD images, fully determined by (seed, frame, ccd, side).

A side's image is bias + a sky gradient + a few Gaussian stars + read noise,
in ADU, on the readout grid of :mod:`geometry` (overscan rows and columns get
bias and noise only: no light reaches them). Stars sit at positions fixed by
(seed, ccd, side), so they stay put from frame to frame; the noise changes
with the frame. Every term is computed from absolute pixel coordinates and
the noise comes in fixed blocks of rows, each from its own
``Generator(PCG64(...))``, so a partial readout gives exactly the slice of
the full image. A full side (4540 x 2270) takes about 0.1 s to generate.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.random import PCG64, Generator

from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.geometry import (
    CCDS,
    COLUMNS,
    IMAGE_COLUMNS,
    IMAGE_ROWS,
    ROWS,
    Side,
)

BIAS_ADU = 1000.0
SKY_ADU = 50.0
SKY_PER_ROW = 0.02  # the gradient makes a swapped row or column visible in a test
SKY_PER_COLUMN = 0.03
READ_NOISE_ADU = 5.0
STARS_PER_SIDE = 24
NOISE_BLOCK_ROWS = 64
MAX_ADU = 65535
_SIDE_CODE = {Side.E: 0, Side.F: 1}
_STAR_STREAM, _NOISE_STREAM = 1, 2  # keep the two random streams apart


@dataclass(frozen=True)
class Star:
    row: float
    column: float
    sigma: float
    peak: float


def stars(seed: int, ccd: int, side: Side) -> list[Star]:
    """The stars on one CCD side: the same in every frame."""
    rng = Generator(PCG64([seed, ccd, _SIDE_CODE[side], _STAR_STREAM]))
    rows = rng.uniform(0, IMAGE_ROWS, STARS_PER_SIDE)
    columns = rng.uniform(0, IMAGE_COLUMNS, STARS_PER_SIDE)
    sigmas = rng.uniform(1.0, 3.0, STARS_PER_SIDE)
    peaks = rng.uniform(2_000.0, 40_000.0, STARS_PER_SIDE)
    return [Star(*map(float, values)) for values in zip(rows, columns, sigmas, peaks, strict=True)]


def synthetic_image(  # noqa: PLR0917 - the six coordinates of a pixel source
    seed: int, frame: int, ccd: int, side: Side, rows: range | int, cols: range | int
) -> np.ndarray:
    """The pixels ``rows`` x ``cols`` (ranges on the readout grid, or counts from 0)."""
    _check_source(seed, frame, ccd)
    window_rows, window_cols = _window(rows, ROWS, "rows"), _window(cols, COLUMNS, "cols")
    image = _sky(window_rows, window_cols)
    for star in stars(seed, ccd, side):
        _add_star(image, star, window_rows, window_cols)
    _add_noise(image, (seed, frame, ccd, _SIDE_CODE[side]), window_rows, window_cols)
    np.rint(image, out=image)
    np.clip(image, 0, MAX_ADU, out=image)
    return image.astype(np.uint16)


def pattern_image(
    frame: int, ccd: int, side: Side, rows: range | int, cols: range | int
) -> np.ndarray:
    """The FEE test pattern: CCD (bits 15-14), side (bit 13), (row + column + frame) mod 8192."""
    _check_source(0, frame, ccd)
    window_rows, window_cols = _window(rows, ROWS, "rows"), _window(cols, COLUMNS, "cols")
    r = np.arange(window_rows.start, window_rows.stop)
    c = np.arange(window_cols.start, window_cols.stop)
    header = ((ccd - 1) << 14) | (_SIDE_CODE[side] << 13)
    values = (r[:, None] + c[None, :] + frame) & 0x1FFF
    return (values | header).astype(np.uint16)


def pixel_checksum(pixels: np.ndarray) -> str:
    """BLAKE2b of the pixels as big-endian 16-bit words (as they travel and are stored)."""
    wire = np.ascontiguousarray(pixels, dtype=">u2")
    return hashlib.blake2b(wire.data, digest_size=16).hexdigest()


def _check_source(seed: int, frame: int, ccd: int) -> None:
    if seed < 0 or frame < 0:
        raise ReadoutError(f"seed {seed} and frame {frame} must not be negative")
    if ccd not in CCDS:
        raise ReadoutError(f"ccd {ccd} is not one of {CCDS}")


def _window(span: range | int, limit: int, what: str) -> range:
    window = range(span) if isinstance(span, int) else span
    if window.step != 1 or not 0 <= window.start < window.stop <= limit:
        raise ReadoutError(f"{what} {window} must be a non-empty range within 0..{limit}")
    return window


def _sky(rows: range, cols: range) -> np.ndarray:
    """Bias everywhere, plus a gradient on the image area only."""
    r = np.arange(rows.start, rows.stop, dtype=np.float32)
    c = np.arange(cols.start, cols.stop, dtype=np.float32)
    row_light = np.where(r < IMAGE_ROWS, SKY_ADU / 2 + SKY_PER_ROW * r, -np.inf)
    col_light = np.where(c < IMAGE_COLUMNS, SKY_ADU / 2 + SKY_PER_COLUMN * c, -np.inf)
    light = row_light[:, None].astype(np.float32) + col_light[None, :].astype(np.float32)
    np.maximum(light, 0.0, out=light)  # -inf marks overscan: no light there
    light += np.float32(BIAS_ADU)
    return light


def _add_star(image: np.ndarray, star: Star, rows: range, cols: range) -> None:
    # The profile is computed over the star's whole box, independent of the
    # window, so that a partial readout sees bit-identical values.
    half = int(np.ceil(5 * star.sigma))
    box_r = range(max(0, int(star.row) - half), min(IMAGE_ROWS, int(star.row) + half + 1))
    box_c = range(max(0, int(star.column) - half), min(IMAGE_COLUMNS, int(star.column) + half + 1))
    r0, r1 = max(box_r.start, rows.start), min(box_r.stop, rows.stop)
    c0, c1 = max(box_c.start, cols.start), min(box_c.stop, cols.stop)
    if r0 >= r1 or c0 >= c1:
        return
    along_r = np.exp(-0.5 * ((np.arange(box_r.start, box_r.stop) - star.row) / star.sigma) ** 2)
    along_c = np.exp(-0.5 * ((np.arange(box_c.start, box_c.stop) - star.column) / star.sigma) ** 2)
    profile = (star.peak * np.outer(along_r, along_c)).astype(np.float32)
    image[r0 - rows.start : r1 - rows.start, c0 - cols.start : c1 - cols.start] += profile[
        r0 - box_r.start : r1 - box_r.start, c0 - box_c.start : c1 - box_c.start
    ]


@functools.cache
def _noise_quantiles() -> np.ndarray:
    """Read noise at 65536 equally likely levels: a uniform uint16 picks a Gaussian value.

    Looking a 16-bit random number up in this table is three times faster
    than drawing a normal deviate, and the tails are cut at 4.3 sigma.
    """
    normal = NormalDist(0.0, READ_NOISE_ADU)
    levels = 1 << 16
    return np.array([normal.inv_cdf((i + 0.5) / levels) for i in range(levels)], np.float32)


def _add_noise(image: np.ndarray, source: tuple[int, ...], rows: range, cols: range) -> None:
    quantiles = _noise_quantiles()
    first = rows.start // NOISE_BLOCK_ROWS
    last = (rows.stop - 1) // NOISE_BLOCK_ROWS
    for block in range(first, last + 1):
        rng = Generator(PCG64([*source, block, _NOISE_STREAM]))
        picks = rng.integers(0, 1 << 16, (NOISE_BLOCK_ROWS, COLUMNS), dtype=np.uint16)
        top = block * NOISE_BLOCK_ROWS
        r0, r1 = max(top, rows.start), min(top + NOISE_BLOCK_ROWS, rows.stop)
        piece = picks[r0 - top : r1 - top, cols.start : cols.stop]
        image[r0 - rows.start : r1 - rows.start] += np.take(quantiles, piece)
