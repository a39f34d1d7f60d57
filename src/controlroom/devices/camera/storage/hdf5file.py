"""`FrameFile`: appends frames to one camera HDF5 file, readable while it grows.

The layout is that of :mod:`controlroom.devices.camera.storage.hdf5layout`.

A frame is committed in three flushed steps: its index row with written=0,
then its bytes and pixels, then the row again with written=1. A reader that
reads the index first and the data after sees only whole frames as written;
a frame cut by a crash keeps written=0 and is visibly incomplete.

A frame whose readout takes a while is announced first (`FrameFile.begin`):
its HK bytes, then its row (written=0) are flushed at once, and the frame
that follows with the same counter completes that row: its data and the
row's placements (still written=0) in one flush, then written=1. A process
killed mid-readout so leaves a row that says which frame was cut, with its
timecode and HK packet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from controlroom.devices.camera.storage.frames import SLOTS, Frame, FrameBegun, commands_json
from controlroom.devices.camera.storage.hdf5layout import (
    BLOBS,
    FORMAT,
    FORMAT_VERSION,
    INDEX_DTYPE,
    NO_NUM_CYCLES,
    PIXEL_KINDS,
    compression_options,
    heap_path,
)

WRITE_SLICE_BYTES = 1 << 20  # one h5py write call: about a millisecond of memory copying
WHOLE = None  # write_slice_bytes of a process that writes nothing else: one call per array
_HK = "bytes/hk"


class FrameFile:
    """One camera HDF5 file open for appending frames (in SWMR mode); never reopened."""

    def __init__(
        self,
        path: Path,
        obsid: str | None,
        *,
        chunk_pixels: int = 1 << 20,
        compression: str | None = None,
        fsync: bool = False,
        write_slice_bytes: int | None = WRITE_SLICE_BYTES,
    ) -> None:
        self.path = path
        self._slice_bytes = write_slice_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made under another name and given its own once in SWMR mode: a reader that
        # finds the file (a live FITS builder) never opens it half made, nor locked.
        making = path.with_name(path.name + ".making")
        self._file = h5py.File(making, "w", libver="latest")  # "w": a leftover of a crash goes
        try:
            self._create_layout(obsid, chunk_pixels, compression_options(compression))
            self._file.swmr_mode = True
            os.link(making, path)  # never over another file (FileExistsError)
        except BaseException:
            self._file.close()
            making.unlink(missing_ok=True)
            raise
        making.unlink()
        self._index = self._file["index"]
        self._ends = dict.fromkeys(self._heap_names(), 0)
        self._fd = os.open(path, os.O_RDONLY) if fsync else None
        self._begun: _Begun | None = None
        self.frames = 0

    def _create_layout(self, obsid: str | None, chunk: int, pixel_options: dict) -> None:
        self._file.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, obsid=obsid or "")
        self._file.create_dataset(
            "index", shape=(0,), maxshape=(None,), dtype=INDEX_DTYPE, chunks=(64,)
        )
        for blob in BLOBS:
            self._file.create_dataset(
                heap_path("bytes", blob), (0,), np.uint8, maxshape=(None,), chunks=(1 << 16,)
            )
        for kind in PIXEL_KINDS:
            for key in SLOTS:
                self._file.create_dataset(
                    heap_path(kind, key), (0,), "<u2", maxshape=(None,), chunks=(chunk,),
                    **pixel_options,
                )  # fmt: skip

    @staticmethod
    def _heap_names() -> list[str]:
        names = [heap_path("bytes", blob) for blob in BLOBS]
        return names + [heap_path(kind, key) for kind in PIXEL_KINDS for key in SLOTS]

    def begin(self, header: FrameBegun) -> None:
        """Announce a frame whose readout started: its HK, then its row (written=0), flushed."""
        row = _blank_row(header)
        hk = np.frombuffer(header.hk, np.uint8)
        self._place(row, _HK, hk)
        self._write_heap(_HK, hk)
        self._file.flush()  # the HK is in the file before the row that points at it
        position = self._add_row(row)
        self._flush()
        self._begun = _Begun(position, header, row)

    def append(self, frame: Frame) -> None:
        """Store ``frame`` (completing its begun row, if any), committed as the module says."""
        begun, self._begun = self._begun, None
        if begun is not None and not begun.announces(frame):
            begun = None  # that readout never came to storage: its row stays cut
        payload = _payload(frame)
        row = _blank_row(frame) if begun is None else begun.row
        if begun is not None and begun.header.hk == frame.hk:
            del payload[_HK]  # in the file already, and the row points at it
        row["complete"] = frame.complete
        row["num_cycles"] = NO_NUM_CYCLES if frame.num_cycles is None else frame.num_cycles
        for name, data in payload.items():
            self._place(row, name, data)
        if begun is None:
            position = self._add_row(row)
        else:
            position = begun.position
            self._index[position] = row
        if begun is None or _HK in payload:
            # The row and its HK exist before the data: a cut frame shows written=0 with
            # its HK. A begun row is in the file with its HK already (still written=0).
            self._file.flush()
        for name, data in payload.items():
            self._write_heap(name, data)
        self._file.flush()
        row["written"] = 1
        self._index[position] = row
        self._flush()
        self.frames += 1

    def _add_row(self, row: np.ndarray) -> int:
        position = int(self._index.shape[0])
        self._index.resize((position + 1,))
        self._index[position] = row
        return position

    def _flush(self) -> None:
        self._file.flush()
        if self._fd is not None:
            os.fsync(self._fd)

    def _place(self, row: np.ndarray, name: str, data: np.ndarray) -> None:
        """Reserve room for ``data`` at the end of its heap and note where in ``row``."""
        start = self._ends[name]
        self._ends[name] = start + data.size
        kind, key = name.split("/")
        if kind == "bytes":
            row[key] = (start, data.size)
        else:
            row[kind][SLOTS.index(_slot_of(key))] = (start, *data.shape)

    def _write_heap(self, name: str, data: np.ndarray) -> None:
        heap = self._file[name]
        end = self._ends[name]
        heap.resize((end,))
        flat, start = data.reshape(-1), end - data.size
        if self._slice_bytes is WHOLE:  # a writer process: nobody waits for the GIL
            heap[start:end] = flat
            return
        # h5py holds the GIL for the whole of one write: slices keep each hold short, so
        # the DPU's loop thread (priority requests, packets) runs between them.
        step = max(1, self._slice_bytes // max(1, flat.itemsize))
        for offset in range(0, flat.size, step):
            piece = flat[offset : offset + step]
            heap[start + offset : start + offset + piece.size] = piece

    def close(self) -> None:
        """Close the file (it stays readable; every committed frame is in it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._file.close()


@dataclass(frozen=True)
class _Begun:
    """The row of the frame announced last, until that frame comes."""

    position: int
    header: FrameBegun
    row: np.ndarray

    def announces(self, frame: Frame) -> bool:
        mine = (self.header.frame_counter, self.header.timecode, self.header.received_s)
        return mine == (frame.frame_counter, frame.timecode, frame.received_s)


def _blank_row(frame: Frame | FrameBegun) -> np.ndarray:
    """An index row with the frame's times, nothing placed, not written, not complete."""
    row = np.zeros((), INDEX_DTYPE)
    row["frame_counter"], row["timecode"] = frame.frame_counter, frame.timecode
    row["received_s"], row["num_cycles"] = frame.received_s, NO_NUM_CYCLES
    row["images"] = row["overscan"] = -1
    return row


def _payload(frame: Frame) -> dict[str, np.ndarray]:
    """Every heap write of a frame: dataset name to the array appended to it."""
    blobs = {
        "hk": np.frombuffer(frame.hk, np.uint8),
        "register_map": frame.register_map,
        "commands": np.frombuffer(commands_json(frame.commands).encode(), np.uint8),
        "hk_readback": np.frombuffer(frame.hk_readback, np.uint8),
    }
    payload = {heap_path("bytes", name): data for name, data in blobs.items()}
    for kind, pixels in (("images", frame.images), ("overscan", frame.overscan)):
        for key in SLOTS:
            if key in pixels:
                payload[heap_path(kind, key)] = np.ascontiguousarray(pixels[key])
    return payload


def _slot_of(name: str) -> tuple[int, str]:
    ccd, side = name.removeprefix("ccd").split("_")
    return int(ccd), side
