"""The latest stored image of one CCD side, block-averaged down to a size a viewer can take.

The processor writes frames to HDF5 files under the camera root; they are
readable while being written (SWMR). The latest image of a CCD side is the
last *whole* frame (written to its end, of a readout that came in whole)
holding that side, looked for in the processor's current file, then in the
most recently written files under the root (after a processor restart the
current file is new and may have no image yet). Every path is checked to
resolve under the root, whatever the processor's status says.

A full frame side is 4540 x 2255 pixels: too much for a panel. It is
averaged in square blocks of ``binning`` x ``binning`` pixels, the smallest
``binning`` that brings both sides to ``max_size`` or less; blocks at the
right and bottom edges average the pixels they have. Means are rounded to
the nearest integer (half to even) and sent as little-endian uint16.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from controlroom.devices.camera.control.errors import NoImage
from controlroom.devices.camera.storage import FrameFileReader
from controlroom.devices.camera.storage.paths import SUFFIX, confined

MIN_SIZE = 16
MAX_SIZE = 2048
RECENT_FILES = 2  # files looked at besides the current one: the last ones written


def binning_for(shape: tuple[int, int], max_size: int) -> int:
    """The smallest block size that brings both sides of ``shape`` to ``max_size`` or less."""
    return max(1, math.ceil(max(shape) / max_size))


def block_mean(pixels: np.ndarray, binning: int) -> np.ndarray:
    """The mean of each ``binning`` x ``binning`` block (edge blocks: of what they hold), uint16."""
    if binning == 1:
        return pixels.astype(np.uint16, copy=True)
    rows, cols = pixels.shape
    row_starts, col_starts = np.arange(0, rows, binning), np.arange(0, cols, binning)
    sums = np.add.reduceat(pixels.astype(np.uint64), row_starts, axis=0)
    sums = np.add.reduceat(sums, col_starts, axis=1)
    heights = np.diff(np.append(row_starts, rows))
    widths = np.diff(np.append(col_starts, cols))
    means = sums / np.outer(heights, widths)
    result: np.ndarray = np.rint(means).astype(np.uint16)
    return result


def candidate_files(root: Path, current: str) -> list[Path]:
    """The processor's current file (if any) and the most recently written others."""
    found: list[Path] = []
    if current:
        found.append(confined(root, Path(current)))
    if root.is_dir():
        others = sorted(root.glob(f"*/*{SUFFIX}"), key=_mtime, reverse=True)
        for other in others[: RECENT_FILES + 1]:
            path = confined(root, other)
            if path not in found:
                found.append(path)
    return found[: RECENT_FILES + 1]


def latest_image(root: Path, current: str, ccd: int, side: str, max_size: int) -> dict[str, Any]:
    """The latest whole image of ``ccd`` side ``side``, averaged down to ``max_size``."""
    key = (ccd, side)
    for path in candidate_files(root, current):
        with FrameFileReader(path) as reader:
            for entry in reversed(reader.entries()):
                if not entry.whole:
                    continue
                pixels = reader.pixels(entry.position, "images", key)
                if pixels is None:
                    continue
                binning = binning_for(pixels.shape, max_size)
                small = block_mean(pixels, binning)
                return {
                    "frame_counter": entry.frame_counter,
                    "received_s": entry.received_s,
                    "obsid": reader.obsid,
                    "ccd": ccd,
                    "side": side,
                    "shape": list(small.shape),
                    "source_shape": list(pixels.shape),
                    "binning": binning,
                    "min": int(small.min()),
                    "max": int(small.max()),
                    "pixels": small.astype("<u2").tobytes(),
                }
    raise NoImage(f"no stored image of CCD {ccd} side {side} yet (under {root})")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return 0.0
