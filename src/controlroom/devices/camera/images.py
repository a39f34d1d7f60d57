"""Synthetic CCD images, fully determined by (seed, frame, ccd, side).

A side's image is bias + a sky gradient + a few Gaussian stars + read noise,
in ADU, on the readout grid of :mod:`geometry` (overscan rows and columns get
bias and noise only: no light reaches them). Stars sit at positions fixed by
(seed, ccd, side), so they stay put from frame to frame; the noise changes
with the frame. A pixel is ``clip(rint(bias + sky + stars) + noise, 0, 65535)``
with integer noise, every term a function of the pixel's absolute
coordinates, so a partial readout gives exactly the slice of the full image.

Generating images must keep up with a full-frame stream of a few hundred MB/s,
so everything that does not change with the frame is computed once:

- the bias and the sky, rounded, as one uint16 array of the whole grid (the
  same for every seed, CCD and side);
- per (seed, ccd, side), the exact pixels of each star's box (sky and every
  star that reaches into it, rounded), small patches laid over the sky;
- the read noise: one pool of 2**24 rounded Gaussian values (int8, 27 MB
  with the repeat at its end); the noise of a
  side is the pool read row-major from an offset that (seed, frame, ccd, side)
  picks, so two frames' noise is the same sequence shifted (a statistic over
  pairs of frames at one lag would see it; per pixel and per frame it is white).

An image is then one addition over the window plus the star patches: 3-5 ms
for a full side (4540 x 2270), against 0.05-0.15 s when every frame's noise
was drawn afresh; the simulator computes it in row blocks that stay in the
processor's cache. The first image of a process builds the tables (0.6 s).
Outside the star boxes the sky plus the bounded noise cannot leave 0..65535,
so the addition is done in uint16; inside them it is done in int32 and clipped.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

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
NOISE_LIMIT_ADU = 40  # 8 sigma: the pool is clipped there, far below the bias, in int8
NOISE_POOL_SIZE = 1 << 24  # more than a side's pixels: no side repeats its own noise
STARS_PER_SIDE = 24
MAX_ADU = 65535
_SIDE_CODE = {Side.E: 0, Side.F: 1}
_STAR_STREAM, _NOISE_STREAM = 1, 2  # keep the random streams apart
_SIDE_PIXELS = ROWS * COLUMNS


@dataclass(frozen=True)
class Star:
    row: float
    column: float
    sigma: float
    peak: float


@dataclass(frozen=True)
class _Patch:
    """The exact pixels of one star's box: rint(bias + sky + all stars), before noise."""

    rows: range
    cols: range
    light: np.ndarray  # int32, len(rows) x len(cols)


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
    where = (slice(window_rows.start, window_rows.stop), slice(window_cols.start, window_cols.stop))
    noise = _side_noise(seed, frame, ccd, side)
    # Cast to uint16 a negative noise value wraps, and so does the uint16 addition:
    # together they add it exactly (see the module).
    image: np.ndarray = np.add(_sky()[where], noise[where], dtype=np.uint16, casting="unsafe")
    for patch in _star_patches(seed, ccd, side):
        _lay_patch(image, patch, noise, window_rows, window_cols)
    return image


def read_noise(  # noqa: PLR0917 - the six coordinates of a pixel source
    seed: int, frame: int, ccd: int, side: Side, rows: range | int, cols: range | int
) -> np.ndarray:
    """The read noise (int16 ADU) that :func:`synthetic_image` adds to the same pixels."""
    _check_source(seed, frame, ccd)
    window_rows, window_cols = _window(rows, ROWS, "rows"), _window(cols, COLUMNS, "cols")
    noise = _side_noise(seed, frame, ccd, side)
    window = noise[window_rows.start : window_rows.stop, window_cols.start : window_cols.stop]
    return window.astype(np.int16)


def pattern_image(
    frame: int, ccd: int, side: Side, rows: range | int, cols: range | int
) -> np.ndarray:
    """The FEE test pattern: CCD (bits 15-14), side (bit 13), (row + column + frame) mod 8192."""
    _check_source(0, frame, ccd)
    window_rows, window_cols = _window(rows, ROWS, "rows"), _window(cols, COLUMNS, "cols")
    # In uint16 the sum wraps modulo 65536, a multiple of 8192: the low 13 bits are exact.
    r = np.arange(window_rows.start, window_rows.stop, dtype=np.uint16)
    c = np.arange(window_cols.start, window_cols.stop, dtype=np.uint16) + np.uint16(frame & 0x1FFF)
    header = np.uint16(((ccd - 1) << 14) | (_SIDE_CODE[side] << 13))
    values: np.ndarray = np.add(r[:, None], c[None, :])
    values &= np.uint16(0x1FFF)
    values |= header
    return values


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


def _light(rows: range, cols: range) -> np.ndarray:
    """Bias everywhere, plus the sky gradient on the image area only (float64)."""
    r = np.arange(rows.start, rows.stop, dtype=np.float64)
    c = np.arange(cols.start, cols.stop, dtype=np.float64)
    row_light = np.where(r < IMAGE_ROWS, SKY_ADU / 2 + SKY_PER_ROW * r, -np.inf)
    col_light = np.where(c < IMAGE_COLUMNS, SKY_ADU / 2 + SKY_PER_COLUMN * c, -np.inf)
    light = row_light[:, None] + col_light[None, :]
    np.maximum(light, 0.0, out=light)  # -inf marks overscan: no light there
    light += BIAS_ADU
    return light


@functools.cache
def _sky() -> np.ndarray:
    """rint(bias + sky) of the whole grid, uint16, read-only (shared by every image)."""
    sky: np.ndarray = np.rint(_light(range(ROWS), range(COLUMNS))).astype(np.uint16)
    if int(sky.min()) < NOISE_LIMIT_ADU or int(sky.max()) > MAX_ADU - NOISE_LIMIT_ADU:
        raise AssertionError("the sky leaves no room for the noise in uint16")
    sky.flags.writeable = False
    return sky


def _star_box(star: Star) -> tuple[range, range]:
    half = int(np.ceil(5 * star.sigma))
    rows = range(max(0, int(star.row) - half), min(IMAGE_ROWS, int(star.row) + half + 1))
    cols = range(max(0, int(star.column) - half), min(IMAGE_COLUMNS, int(star.column) + half + 1))
    return rows, cols


def _profile(star: Star) -> np.ndarray:
    """The star's light over its whole box (the same whatever window is read)."""
    rows, cols = _star_box(star)
    along_r = np.exp(-0.5 * ((np.arange(rows.start, rows.stop) - star.row) / star.sigma) ** 2)
    along_c = np.exp(-0.5 * ((np.arange(cols.start, cols.stop) - star.column) / star.sigma) ** 2)
    profile: np.ndarray = star.peak * np.outer(along_r, along_c)
    return profile


@functools.lru_cache(maxsize=64)
def _star_patches(seed: int, ccd: int, side: Side) -> tuple[_Patch, ...]:
    """Each star's box with every star's light in it: overlapping boxes agree pixel for pixel."""
    found = stars(seed, ccd, side)
    boxes = [_star_box(star) for star in found]
    profiles = [_profile(star) for star in found]
    patches = []
    for rows, cols in boxes:
        light = _light(rows, cols)
        for (star_rows, star_cols), profile in zip(boxes, profiles, strict=True):
            r0, r1 = max(rows.start, star_rows.start), min(rows.stop, star_rows.stop)
            c0, c1 = max(cols.start, star_cols.start), min(cols.stop, star_cols.stop)
            if r0 < r1 and c0 < c1:
                light[r0 - rows.start : r1 - rows.start, c0 - cols.start : c1 - cols.start] += (
                    profile[
                        r0 - star_rows.start : r1 - star_rows.start,
                        c0 - star_cols.start : c1 - star_cols.start,
                    ]
                )
        patches.append(_Patch(rows, cols, np.rint(light).astype(np.int32)))
    return tuple(patches)


def _lay_patch(
    image: np.ndarray, patch: _Patch, noise: np.ndarray, rows: range, cols: range
) -> None:
    """Overwrite the part of ``image`` (the window rows x cols) that ``patch`` covers."""
    r0, r1 = max(patch.rows.start, rows.start), min(patch.rows.stop, rows.stop)
    c0, c1 = max(patch.cols.start, cols.start), min(patch.cols.stop, cols.stop)
    if r0 >= r1 or c0 >= c1:
        return
    light = patch.light[
        r0 - patch.rows.start : r1 - patch.rows.start, c0 - patch.cols.start : c1 - patch.cols.start
    ]
    exact = np.clip(light + noise[r0:r1, c0:c1], 0, MAX_ADU)
    image[r0 - rows.start : r1 - rows.start, c0 - cols.start : c1 - cols.start] = exact


@functools.cache
def _noise_pool() -> np.ndarray:
    """The rounded read-noise values (int8: they stay within the limit), with a side's
    worth repeated at the end.

    The repeat lets any offset in the pool be read as one contiguous side.
    """
    rng = Generator(PCG64([0, _NOISE_STREAM]))
    normal = rng.standard_normal(NOISE_POOL_SIZE, dtype=np.float32)
    normal *= np.float32(READ_NOISE_ADU)
    np.rint(normal, out=normal)
    np.clip(normal, -NOISE_LIMIT_ADU, NOISE_LIMIT_ADU, out=normal)
    pool = np.empty(NOISE_POOL_SIZE + _SIDE_PIXELS, np.int8)
    pool[:NOISE_POOL_SIZE] = normal
    pool[NOISE_POOL_SIZE:] = pool[:_SIDE_PIXELS]
    pool.flags.writeable = False
    return pool


def _noise_offset(seed: int, frame: int, ccd: int, side: Side) -> int:
    """Where in the noise pool the noise of this side of this frame starts."""
    source = f"{seed} {frame} {ccd} {_SIDE_CODE[side]} {_NOISE_STREAM}".encode()
    digest = hashlib.blake2b(source, digest_size=8).digest()
    return int.from_bytes(digest, "little") % NOISE_POOL_SIZE


def _side_noise(seed: int, frame: int, ccd: int, side: Side) -> np.ndarray:
    """The noise of a whole side (ROWS x COLUMNS int8): a view on the pool, no copy."""
    start = _noise_offset(seed, frame, ccd, side)
    return _noise_pool()[start : start + _SIDE_PIXELS].reshape(ROWS, COLUMNS)
