"""Reading camera HDF5 files, also while the DPU is still writing them.

Files are opened in SWMR read mode, which also opens a file whose writer was
killed (plain read mode refuses it as "already open for write"). `refresh()`
picks up frames written since the file was opened: the index is read first,
the data after, so a frame reported as written has all its data in the file
(see `controlroom.devices.camera.storage.hdf5file`). Files of every format
version up to this one are read; a newer one is refused, naming its version.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from controlroom.devices.camera.storage.frames import SLOTS, CameraStorageError, Frame, slot_name
from controlroom.devices.camera.storage.hdf5layout import (
    BLOBS,
    FORMAT,
    FORMAT_VERSION,
    NO_NUM_CYCLES,
    PIXEL_KINDS,
    compression_options,
    heap_path,
)


@dataclass(frozen=True)
class FrameEntry:
    """What the index says of one frame, without its data."""

    position: int
    frame_counter: int
    timecode: int
    received_s: float
    written: bool
    complete: bool

    @property
    def whole(self) -> bool:
        """Written to the end, of a readout that came to its end."""
        return self.written and self.complete


class FrameFileReader:
    """A camera HDF5 file open for reading; a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _load_filters()
        try:
            # No chunk cache: a chunk read while the writer was filling it goes stale.
            self._file = h5py.File(self.path, "r", libver="latest", swmr=True, rdcc_nbytes=0)
        except OSError as exc:
            raise CameraStorageError(f"cannot open camera file {self.path}: {exc}") from exc
        try:
            self.format_version = _check_format(self.path, self._file.attrs)
        except CameraStorageError:
            self._file.close()
            raise
        self.obsid: str | None = str(self._file.attrs["obsid"]) or None
        self._index_ds = self._file["index"]
        self._rows = self._index_ds[...]
        names = self._rows.dtype.names or ()
        self._blobs = tuple(blob for blob in BLOBS if blob in names)  # version 1: fewer

    def __enter__(self) -> FrameFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def refresh(self) -> int:
        """Pick up frames written since the last look; the number of frames now known."""
        self._index_ds.refresh()
        self._rows = self._index_ds[...]
        return len(self._rows)

    def entries(self) -> list[FrameEntry]:
        """Every frame in the file, in writing order."""
        return [self._entry(position) for position in range(len(self._rows))]

    def _entry(self, position: int) -> FrameEntry:
        if not 0 <= position < len(self._rows):
            raise CameraStorageError(f"{self.path}: no frame at position {position}")
        row = self._rows[position]
        return FrameEntry(
            position,
            int(row["frame_counter"]),
            int(row["timecode"]),
            float(row["received_s"]),
            bool(row["written"]),
            bool(row["complete"]),
        )

    def iter_complete(self, start: int = 0) -> Iterator[Frame]:
        """The whole frames (see `FrameEntry.whole`) from position ``start`` on."""
        for entry in self.entries()[start:]:
            if entry.whole:
                yield self.read(entry.position)

    def pixel_shape(self, position: int, kind: str, key: tuple[int, str]) -> tuple[int, int] | None:
        """(rows, cols) of one CCD side in one frame (``kind``: images | overscan), or None."""
        start, rows, cols = self._placement(position, kind, key)
        return None if start < 0 else (rows, cols)

    def pixels(self, position: int, kind: str, key: tuple[int, str]) -> np.ndarray | None:
        """One CCD side's pixels of one frame (``kind``: images | overscan), or None."""
        start, rows, cols = self._placement(position, kind, key)
        if start < 0:
            return None
        return self._heap_slice(heap_path(kind, key), start, rows * cols).reshape(rows, cols)

    def _placement(self, position: int, kind: str, key: tuple[int, str]) -> tuple[int, ...]:
        self._entry(position)  # checks the position
        if kind not in PIXEL_KINDS or key not in SLOTS:
            raise CameraStorageError(f"no pixels {kind!r} of {key!r}: use {PIXEL_KINDS}, {SLOTS}")
        return tuple(int(v) for v in self._rows[position][kind][SLOTS.index(key)])

    def _heap_slice(self, name: str, start: int, size: int) -> np.ndarray:
        heap = self._file[name]
        # Always: a chunk read before the writer filled it must not come from a cache.
        heap.refresh()
        if heap.shape[0] < start + size:
            raise CameraStorageError(f"{self.path}: {name} ends before {start + size} (cut)")
        return np.asarray(heap[start : start + size])

    def _blob(self, position: int, name: str) -> bytes:
        if name not in self._blobs:
            return b""  # a field its format version did not have
        start, size = (int(v) for v in self._rows[position][name])
        return self._heap_slice(heap_path("bytes", name), start, size).tobytes()

    def housekeeping(self, position: int) -> bytes:
        """The HK packet of frame ``position``, also of a frame cut mid-readout.

        A frame announced when its readout began has its HK in the file even
        if the rest never came; b"" if the row has none.
        """
        self._entry(position)  # checks the position
        return self._blob(position, "hk")

    def _num_cycles(self, position: int) -> int | None:
        if "num_cycles" not in (self._rows.dtype.names or ()):
            return None
        value = int(self._rows[position]["num_cycles"])
        return None if value == NO_NUM_CYCLES else value

    def read(self, position: int) -> Frame:
        """Frame number ``position`` of the file (its ``complete``: `FrameEntry.whole`)."""
        entry = self._entry(position)
        if not entry.written:
            raise CameraStorageError(
                f"{self.path}: frame {entry.frame_counter} was cut before its end was written"
            )
        blobs = {name: self._blob(position, name) for name in BLOBS}
        pixels = {kind: self._pixels_of(position, kind) for kind in PIXEL_KINDS}
        return Frame(
            obsid=self.obsid,
            frame_counter=entry.frame_counter,
            timecode=entry.timecode,
            received_s=entry.received_s,
            hk=blobs["hk"],
            register_map=np.frombuffer(blobs["register_map"], np.uint8).copy(),
            commands=json.loads(blobs["commands"]),
            images=pixels["images"],
            overscan=pixels["overscan"],
            complete=entry.whole,
            hk_readback=blobs["hk_readback"],
            num_cycles=self._num_cycles(position),
        )

    def _pixels_of(self, position: int, kind: str) -> dict[tuple[int, str], np.ndarray]:
        found = {key: self.pixels(position, kind, key) for key in SLOTS}
        return {key: array for key, array in found.items() if array is not None}

    def read_dict(self, position: int) -> dict[str, Any]:
        """Frame ``position`` as plain data: arrays by dataset name (``ccd1_E``)."""
        frame = self.read(position)
        return {
            "obsid": frame.obsid,
            "frame_counter": frame.frame_counter,
            "timecode": frame.timecode,
            "received_s": frame.received_s,
            "complete": frame.complete,
            "hk": frame.hk,
            "hk_readback": frame.hk_readback,
            "num_cycles": frame.num_cycles,
            "register_map": frame.register_map,
            "commands": frame.commands,
            "images": {slot_name(*k): v for k, v in frame.images.items()},
            "overscan": {slot_name(*k): v for k, v in frame.overscan.items()},
        }


def _check_format(path: Path, attrs: Any) -> int:
    """The format version of a camera file this reader can read, else an error."""
    if attrs.get("format") != FORMAT:
        raise CameraStorageError(f"{path} is not a camera frames file ({FORMAT})")
    version = attrs.get("format_version")
    if isinstance(version, np.integer):
        version = int(version)
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CameraStorageError(
            f"{path}: format version {version!r}; this controlroom reads 1 to {FORMAT_VERSION}"
        )
    return version


def list_frames(path: str | Path) -> list[FrameEntry]:
    """The frames of one camera file."""
    with FrameFileReader(path) as reader:
        return reader.entries()


def _load_filters() -> None:
    """Register the lz4 filter when hdf5plugin is installed (reading gzip needs nothing)."""
    with contextlib.suppress(CameraStorageError):
        compression_options("lz4")
