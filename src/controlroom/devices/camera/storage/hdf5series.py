"""`FileSeries`: the camera files one writer fills, a new one whenever a frame's series changes.

Which file a frame goes to: see `controlroom.devices.camera.storage.paths`
(one file per observation, or per UTC hour outside one). A file that failed
a write is closed and never written again: the next frame opens a new part.
A `FrameWriter` writes through one, on its thread or in a writer process
(`controlroom.devices.camera.storage.hdf5process`); both see the same files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from controlroom.devices.camera.storage import paths
from controlroom.devices.camera.storage.frames import Frame, FrameBegun
from controlroom.devices.camera.storage.hdf5file import WRITE_SLICE_BYTES, FrameFile

log = logging.getLogger(__name__)


Item = Frame | FrameBegun
# done(item, error or None, the current file): how a store tells that an item is stored.
Done = Callable[[Item, Exception | None, str], None]


class FrameStore(Protocol):
    """Where a `FrameWriter`'s thread hands frames and frame starts, in order.

    ``open(done)`` is called first, on that thread; each item submitted is
    then stored, and ``done`` called for it once, in order, with the error
    if it could not be (the file it failed on is closed by then, so the next
    frame opens a new part): at once, or later from a thread of the store's.
    ``close`` returns once ``done`` was called for every item.
    """

    def open(self, done: Done) -> None: ...

    def submit(self, item: Item) -> None: ...

    def close(self) -> None: ...


class FileSeries:
    """Frames appended to the file of their series under ``root``, in this process."""

    def __init__(
        self,
        root: Path,
        *,
        chunk_pixels: int,
        compression: str | None,
        fsync: bool,
        write_slice_bytes: int | None = WRITE_SLICE_BYTES,
    ) -> None:
        self.root = Path(root)
        self._slice_bytes = write_slice_bytes
        self._chunk_pixels = chunk_pixels
        self._compression = compression
        self._fsync = fsync
        self._file: FrameFile | None = None
        self._series = ""
        self._done: Done = _nobody
        self.current_file = ""

    def open(self, done: Done) -> None:
        """Nothing to prepare: a file is opened by the first frame of its series."""
        self._done = done

    def submit(self, item: Item) -> None:
        """Store ``item`` now; then ``done``."""
        try:
            self.store(item)
        except Exception as exc:
            self._done(item, exc, self.current_file)
        else:
            self._done(item, None, self.current_file)

    def store(self, item: Item) -> None:
        """Store ``item`` in its series' file (`FrameFile.begin` for a start); raise if not."""
        try:
            file = self._file_for(item)
            if isinstance(item, FrameBegun):
                file.begin(item)
            else:
                file.append(item)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the open file, if any (never raises: a failed disk must not stop a writer)."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except Exception:
                log.exception("closing camera file %s", file.path)

    def _file_for(self, frame: Frame | FrameBegun) -> FrameFile:
        series = paths.series_name(frame)
        if self._file is None or series != self._series:
            self.close()
            path = paths.new_file_path(self.root, frame)
            self._file = FrameFile(
                path,
                frame.obsid,
                chunk_pixels=self._chunk_pixels,
                compression=self._compression,
                fsync=self._fsync,
                write_slice_bytes=self._slice_bytes,
            )
            self._series = series
            self.current_file = str(path)
        return self._file


def _nobody(item: Item, error: Exception | None, current_file: str) -> None:
    """Before ``open``: nobody to tell."""
