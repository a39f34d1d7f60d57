"""Where camera files live: one HDF5 file per observation, or per UTC hour outside one.

Layout under the storage root::

    <root>/<YYYYMMDD>/<obsid>_camera.h5          frames of observation <obsid>
    <root>/<YYYYMMDD>/camera_<YYYYMMDD_HH>.h5    frames outside an observation, per UTC hour

The date folder is the UTC date of the file's first frame (an observation that
runs past midnight stays in one file). A file is never reopened for writing:
a second writer for the same observation or hour (after a restart or a crash)
starts a new part, ``<obsid>_camera_002.h5``, ``camera_<YYYYMMDD_HH>_002.h5``,
so a file left by a killed writer is only ever read. Every name is built from
a checked obsid and digits, and every path is checked to resolve under the root.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from controlroom.devices.camera.storage.frames import (
    Frame,
    FrameBegun,
    UnsafePathError,
    check_obsid,
)

SUFFIX = ".h5"
MAX_PARTS = 999
_PART = re.compile(r"_(\d{3})\Z")


def series_name(frame: Frame | FrameBegun) -> str:
    """The file series a frame belongs to: ``<obsid>_camera`` or ``camera_<YYYYMMDD_HH>``."""
    if frame.obsid is not None:
        return f"{check_obsid(frame.obsid)}_camera"
    return "camera_" + time.strftime("%Y%m%d_%H", time.gmtime(frame.received_s))


def date_folder(received_s: float) -> str:
    """The folder of a file whose first frame was received at ``received_s``: ``YYYYMMDD``."""
    return time.strftime("%Y%m%d", time.gmtime(received_s))


def confined(root: Path, path: Path) -> Path:
    """``path`` if it resolves under ``root`` (symbolic links followed), else an error."""
    base = root.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(base):
        raise UnsafePathError(f"{path} is outside the camera storage root {root}")
    return resolved


def new_file_path(root: Path, frame: Frame | FrameBegun) -> Path:
    """A path for a new file of ``frame``'s series that no file has yet (the next free part)."""
    folder = confined(root, root / date_folder(frame.received_s))
    series = series_name(frame)
    for part in range(1, MAX_PARTS + 1):
        name = series + (f"_{part:03d}" if part > 1 else "") + SUFFIX
        candidate = folder / name
        if not candidate.exists():
            return confined(root, candidate)
    raise UnsafePathError(f"{folder}: {MAX_PARTS} parts of {series} already; refusing more")


def observation_files(root: Path, obsid: str) -> list[Path]:
    """The HDF5 files of observation ``obsid`` under ``root``, in writing order."""
    series = f"{check_obsid(obsid)}_camera"
    found = []
    for path in root.glob(f"*/{series}*{SUFFIX}"):
        rest = path.name[len(series) : -len(SUFFIX)]
        if rest == "" or _PART.match(rest):
            found.append(confined(root, path))
    return sorted(found, key=_writing_order)


def _writing_order(path: Path) -> tuple[str, int]:
    match = _PART.search(path.stem)
    return (path.parent.name, int(match.group(1)) if match else 1)
