"""FITS cubes per CCD side from the HDF5 files of one observation, kept up to date live.

Each (ccd, side) gets cubes of up to ``frames_per_file`` frames, one FITS file
per block: ``<out_dir>/<obsid>_ccd<N>_<side>_<block:04d>.fits``. The primary
HDU holds the cube (frames, rows, columns) of uint16 pixels with OBSID, CCD,
SIDE, DATE-OBS, DATE-END, FRAME0, FRAME1, NFRAMES and BLOCK in its header; the
``TIMES`` table extension has one row per frame: FRAME (counter), TIMECODE and
RECEIVED (UTC, ISO 8601).

Why blocks and not one growing cube: astropy cannot append to an image HDU in
place. Growing a cube in ``update`` mode rewrote the whole file here (one
1000x1000 frame added to a 40-frame cube: 0.46 s, against 5 ms to write that
frame alone), so a cube per observation would cost more with every frame. A
block is written when it fills; the block still filling is rewritten (whole,
then renamed over the old one) by each `FitsCubes.update` that adds to it, so
a live viewer sees the newest frames and each frame is rewritten at most
``frames_per_file - 1`` times. A new block also starts when a side's geometry
changes (a partial readout). Frames whose readout was cut are left out.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

from controlroom.devices.camera.storage.frames import (
    SLOTS,
    CameraStorageError,
    check_obsid,
    slot_name,
)
from controlroom.devices.camera.storage.hdf5read import FrameEntry, FrameFileReader
from controlroom.devices.camera.storage.paths import confined, observation_files


def utc_iso(seconds: float) -> str:
    """``2026-01-01T12:00:00.000000``: UTC with microseconds, as FITS dates are written."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class _Block:
    """The frames of one cube file being filled: where their pixels are, and their times."""

    number: int
    shape: tuple[int, int]
    sources: list[tuple[Path, int]] = field(default_factory=list)
    entries: list[FrameEntry] = field(default_factory=list)
    dirty: bool = False


class FitsCubes:
    """FITS cubes of observation ``obsid`` (HDF5 files under ``root``) in ``out_dir``."""

    def __init__(self, root: Path, obsid: str, out_dir: Path, *, frames_per_file: int = 10) -> None:
        if not 1 <= frames_per_file <= 1000:
            raise CameraStorageError(f"frames_per_file: {frames_per_file} is outside 1..1000")
        self.root = Path(root)
        self.obsid = check_obsid(obsid)
        self.out_dir = Path(out_dir)
        self.frames_per_file = frames_per_file
        self._next: dict[Path, int] = {}  # per HDF5 file: the first frame not yet looked at
        self._blocks: dict[tuple[int, str], _Block] = {}
        self._numbers = dict.fromkeys(SLOTS, 0)
        self._written: list[Path] = []

    def update(self) -> list[Path]:
        """Add the frames written since the last call; the FITS files written by this call."""
        self._written = []
        files = observation_files(self.root, self.obsid)
        with contextlib.ExitStack() as stack:
            readers = {path: stack.enter_context(FrameFileReader(path)) for path in files}
            for path, reader in readers.items():
                self._take_new(path, reader, last_file=path == files[-1], readers=readers)
            for block_key, block in self._blocks.items():
                if block.dirty:
                    self._write(block_key, block, readers)
        return self._written

    def _take_new(
        self, path: Path, reader: FrameFileReader, *, last_file: bool, readers: dict
    ) -> None:
        entries = reader.entries()
        position = self._next.get(path, 0)
        for entry in entries[position:]:
            if not entry.written and last_file and entry.position == len(entries) - 1:
                break  # still being written: look again next time
            if entry.whole:
                for key in SLOTS:
                    shape = reader.pixel_shape(entry.position, "images", key)
                    if shape is not None:
                        self._add(key, shape, path, entry, readers)
            position = entry.position + 1
        self._next[path] = position

    def _add(
        self, key: tuple[int, str], shape: tuple[int, int], path: Path, entry: FrameEntry,
        readers: dict,
    ) -> None:  # fmt: skip
        block = self._blocks.get(key)
        if block is None or block.shape != shape or len(block.entries) >= self.frames_per_file:
            if block is not None and block.dirty:
                self._write(key, block, readers)
            self._numbers[key] += 1
            block = self._blocks[key] = _Block(self._numbers[key], shape)
        block.sources.append((path, entry.position))
        block.entries.append(entry)
        block.dirty = True

    def cube_path(self, key: tuple[int, str], number: int) -> Path:
        """The FITS file of block ``number`` of CCD side ``key``."""
        name = f"{self.obsid}_{slot_name(*key)}_{number:04d}.fits"
        return confined(self.out_dir, self.out_dir / name)

    def _write(self, key: tuple[int, str], block: _Block, readers: dict) -> None:
        cube = np.empty((len(block.sources), *block.shape), np.uint16)
        for plane, (path, position) in enumerate(block.sources):
            cube[plane] = readers[path].pixels(position, "images", key)
        hdus = fits.HDUList([_cube_hdu(self.obsid, key, block, cube), _times_hdu(block)])
        target = self.cube_path(key, block.number)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        hdus.writeto(partial, overwrite=True)
        os.replace(partial, target)  # a viewer opens the old cube or the new one, never half
        block.dirty = False
        self._written.append(target)


def _cube_hdu(obsid: str, key: tuple[int, str], block: _Block, cube: np.ndarray) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU(cube)
    first, last = block.entries[0], block.entries[-1]
    hdu.header.update(
        {
            "OBSID": (obsid, "observation identifier"),
            "CCD": (key[0], "CCD number 1-4"),
            "SIDE": (key[1], "CCD side (readout amplifier) E or F"),
            "TIMESYS": ("UTC", "time scale of dates and TIMES"),
            "DATE-OBS": (utc_iso(first.received_s), "first frame's timecode received"),
            "DATE-END": (utc_iso(last.received_s), "last frame's timecode received"),
            "FRAME0": (first.frame_counter, "frame counter of the first plane"),
            "FRAME1": (last.frame_counter, "frame counter of the last plane"),
            "NFRAMES": (len(block.entries), "planes in this cube"),
            "BLOCK": (block.number, "cube number of this CCD side"),
            "BUNIT": ("adu", "raw counts"),
            "ORIGIN": ("controlroom", "controlroom camera storage"),
        }
    )
    return hdu


def _times_hdu(block: _Block) -> fits.BinTableHDU:
    columns = [
        fits.Column("FRAME", "K", array=[e.frame_counter for e in block.entries]),
        fits.Column("TIMECODE", "I", array=[e.timecode for e in block.entries]),
        fits.Column("RECEIVED", "26A", array=[utc_iso(e.received_s) for e in block.entries]),
    ]
    return fits.BinTableHDU.from_columns(columns, name="TIMES")
