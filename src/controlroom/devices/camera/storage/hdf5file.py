"""The camera HDF5 file format, and `FrameFile`, which appends frames to one file.

Readers (the FITS builder, the panel) read a file while the DPU writes it, so
the writer uses HDF5's single-writer/multiple-reader mode (SWMR). SWMR allows
a writer only to grow and overwrite datasets that existed when the mode was
switched on: creating a group, a dataset or an attribute afterwards is outside
its scope (a reader re-opening the file during such writes crashed here with a
heap corruption). So every dataset is created with the file, and a frame is a
row of an index table pointing into append-only datasets::

    /            attrs: format, format_version, obsid ("" outside an observation)
    /index       one row per frame (INDEX_DTYPE): frame_counter, timecode,
                 received_s, written, complete, and (start, size) of the HK,
                 register map and commands bytes, (start, rows, cols) per CCD
                 side of image and overscan pixels (start -1: no pixels)
    /bytes/hk, /bytes/register_map, /bytes/commands     uint8, appended
    /images/ccd<N>_<side>, /overscan/ccd<N>_<side>      uint16, appended row by row

A frame is committed in three flushed steps: its index row with written=0,
then its bytes and pixels, then the row again with written=1. A reader that
reads the index first and the data after sees only whole frames as written;
a frame cut by a crash keeps written=0 and is visibly incomplete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from controlroom.devices.camera.storage.frames import (
    SLOTS,
    CameraStorageError,
    Frame,
    commands_json,
    slot_name,
)

FORMAT = "controlroom.camera.frames"
FORMAT_VERSION = 1
BLOBS = ("hk", "register_map", "commands")
PIXEL_KINDS = ("images", "overscan")
INDEX_DTYPE = np.dtype(
    [
        ("frame_counter", "<i8"),
        ("timecode", "u1"),
        ("received_s", "<f8"),
        ("written", "u1"),
        ("complete", "u1"),
        *[(blob, "<i8", (2,)) for blob in BLOBS],
        *[(kind, "<i8", (len(SLOTS), 3)) for kind in PIXEL_KINDS],
    ]
)
COMPRESSIONS = (None, "gzip", "lz4")


def heap_path(kind: str, key: tuple[int, str] | str) -> str:
    """The dataset that holds one blob (``bytes/hk``) or one CCD side's pixels."""
    if isinstance(key, str):
        return f"{kind}/{key}"
    return f"{kind}/{slot_name(*key)}"


def compression_options(compression: str | None) -> dict[str, Any]:
    """h5py dataset options for a pixel compression; lz4 needs the hdf5plugin package."""
    if compression is None:
        return {}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    if compression == "lz4":
        try:
            import hdf5plugin
        except ImportError as exc:
            raise CameraStorageError(
                "lz4 compression needs the hdf5plugin package (pip install controlroom[camera])"
            ) from exc
        return dict(hdf5plugin.LZ4())
    raise CameraStorageError(f"compression {compression!r}: use one of {COMPRESSIONS}")


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
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(path, "w-", libver="latest")
        try:
            self._create_layout(obsid, chunk_pixels, compression_options(compression))
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            raise
        self._index = self._file["index"]
        self._ends = dict.fromkeys(self._heap_names(), 0)
        self._fd = os.open(path, os.O_RDONLY) if fsync else None
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

    def append(self, frame: Frame) -> None:
        """Store ``frame`` as the next row, committed as the module docstring says."""
        payload = _payload(frame)
        row = np.zeros((), INDEX_DTYPE)
        row["frame_counter"], row["timecode"] = frame.frame_counter, frame.timecode
        row["received_s"], row["complete"] = frame.received_s, frame.complete
        row["images"] = row["overscan"] = -1
        for name, data in payload.items():
            self._place(row, name, data)
        n = self._index.shape[0]
        self._index.resize((n + 1,))
        self._index[n] = row
        self._file.flush()  # the row exists before its data: a cut frame shows written=0
        for name, data in payload.items():
            self._write_heap(name, data)
        self._file.flush()
        row["written"] = 1
        self._index[n] = row
        self._file.flush()
        if self._fd is not None:
            os.fsync(self._fd)
        self.frames += 1

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
        if data.size:
            heap[end - data.size : end] = data.reshape(-1)

    def close(self) -> None:
        """Close the file (it stays readable; every committed frame is in it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._file.close()


def _payload(frame: Frame) -> dict[str, np.ndarray]:
    """Every heap write of a frame: dataset name to the array appended to it."""
    blobs = {
        "hk": np.frombuffer(frame.hk, np.uint8),
        "register_map": frame.register_map,
        "commands": np.frombuffer(commands_json(frame.commands).encode(), np.uint8),
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
