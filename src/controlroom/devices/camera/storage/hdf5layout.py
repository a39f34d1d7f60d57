"""The camera HDF5 file format: its datasets, its index row, its versions, its compressions.

Readers (the FITS builder, the panel) read a file while the DPU writes it, so
the writer uses HDF5's single-writer/multiple-reader mode (SWMR). SWMR allows
a writer only to grow and overwrite datasets that existed when the mode was
switched on: creating a group, a dataset or an attribute afterwards is outside
its scope (a reader re-opening the file during such writes crashed here with a
heap corruption). So every dataset is created with the file, and a frame is a
row of an index table pointing into append-only datasets::

    /            attrs: format, format_version, obsid ("" outside an observation)
    /index       one row per frame (INDEX_DTYPE): frame_counter, timecode,
                 received_s, written, complete, num_cycles, and (start, size)
                 of the HK, register map, commands and HK read-back bytes,
                 (start, rows, cols) per CCD side of image and overscan pixels
                 (start -1: no pixels)
    /bytes/hk, /bytes/register_map, /bytes/commands, /bytes/hk_readback
                 uint8, appended
    /images/ccd<N>_<side>, /overscan/ccd<N>_<side>      uint16, appended row by row

Format versions: 1 had no HK read-back and no ``num_cycles``; 2 adds both.
Readers take both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from controlroom.devices.camera.storage.frames import SLOTS, CameraStorageError, slot_name

FORMAT = "controlroom.camera.frames"
FORMAT_VERSION = 2
BLOBS = ("hk", "register_map", "commands", "hk_readback")
PIXEL_KINDS = ("images", "overscan")
NO_NUM_CYCLES = -(2**63)  # num_cycles of a frame that did not record it
INDEX_DTYPE = np.dtype(
    [
        ("frame_counter", "<i8"),
        ("timecode", "u1"),
        ("received_s", "<f8"),
        ("written", "u1"),
        ("complete", "u1"),
        ("num_cycles", "<i8"),
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
