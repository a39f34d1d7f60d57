"""Camera frame storage: HDF5 files per observation written off the DPU's loop, FITS cubes.

- `Frame`: one readout cycle (timecode, HK, register map, commands, pixels);
  `FrameBegun`: the start of one, announced before its pixels come.
- `FrameWriter`: a writer thread fed by a bounded queue (writing itself, or
  through a writer process); one HDF5 file per observation, or per UTC hour
  outside one, readable while it is written.
- `FrameFileReader`: list, read and follow the frames of one file.
- `fits.FitsCubes`: FITS cubes per CCD side from an observation's files, live
  (import it from its module: it needs astropy, the ``camera`` extra).
"""

from controlroom.devices.camera.storage.frames import (
    SLOTS,
    CameraStorageError,
    Frame,
    FrameBegun,
    InvalidFrameError,
    UnsafePathError,
)
from controlroom.devices.camera.storage.hdf5read import FrameEntry, FrameFileReader, list_frames
from controlroom.devices.camera.storage.hdf5writer import FrameWriter, PutStatus, WriterStats
from controlroom.devices.camera.storage.paths import observation_files

__all__ = [
    "SLOTS",
    "CameraStorageError",
    "Frame",
    "FrameBegun",
    "FrameEntry",
    "FrameFileReader",
    "FrameWriter",
    "InvalidFrameError",
    "PutStatus",
    "UnsafePathError",
    "WriterStats",
    "list_frames",
    "observation_files",
]
