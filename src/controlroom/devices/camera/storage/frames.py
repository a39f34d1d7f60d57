"""One readout cycle of the camera as the DPU processor hands it to storage: a `Frame`.

A frame carries what the FEE sent during one sync period and what the DPU did
in it: the timecode and its reception time, the housekeeping packet, the
housekeeping area read back after the readout, the mirrored register map,
the DPU's ``num_cycles`` count, the commands sent in the command window, and
the pixels per CCD side (image area and overscan). Every field is checked
when the frame is built, with bounds, so the writer never meets a shape or a
size it cannot store and a bad frame is refused where it was made, naming
what is wrong.

A `FrameBegun` announces a frame whose readout has started (its timecode and
housekeeping), so the storage can mark it before its pixels arrive: a crash
mid-readout then leaves that frame visibly cut instead of missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controlroom.device.errors import DeviceError

CCDS = (1, 2, 3, 4)
SIDES = ("E", "F")
SLOTS: tuple[tuple[int, str], ...] = tuple((ccd, side) for ccd in CCDS for side in SIDES)
"""Every (ccd, side) an image can come from, in storage order."""

MAX_ROWS = 8192
MAX_COLS = 8192
MAX_HK_BYTES = 64 * 1024
MAX_REGISTER_MAP_BYTES = 1024 * 1024
MAX_COMMANDS = 1024
MAX_COMMANDS_JSON = 1024 * 1024
MAX_NUM_CYCLES = 2**31 - 1
_OBSID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")  # the storage manager's names


class CameraStorageError(DeviceError):
    """Root of every error raised by the camera storage (frames, HDF5 files, FITS cubes)."""


class InvalidFrameError(CameraStorageError, ValueError):
    """A frame field has the wrong type, shape or size; the message names the field."""


class UnsafePathError(CameraStorageError, ValueError):
    """A name would put a file outside its root, or cannot name a file at all."""


def check_obsid(obsid: object) -> str:
    """``obsid`` if it can name a file (1-64 of A-Z a-z 0-9 _ . -, not first), else an error."""
    if not isinstance(obsid, str) or not _OBSID.match(obsid):
        raise UnsafePathError(f"obsid {obsid!r}: use 1-64 of A-Z a-z 0-9 _ . - (not first)")
    return obsid


def slot_name(ccd: int, side: str) -> str:
    """The dataset name of one CCD side: ``ccd1_E``."""
    return f"ccd{ccd}_{side}"


@dataclass(frozen=True)
class Frame:
    """One sync period of the camera. Arrays are kept by reference, not copied.

    ``received_s`` is the UTC time (seconds since the epoch) at which the DPU
    received the timecode; ``complete`` is False when the end of the readout
    never came (a link fault, a mode change mid-readout). ``hk_readback``: the
    housekeeping area as read after the readout (newer error flags; empty if
    it could not be read); ``num_cycles``: the DPU's count after this pulse
    (None: not recorded, as in files of format version 1).
    """

    obsid: str | None
    frame_counter: int
    timecode: int
    received_s: float
    hk: bytes
    register_map: np.ndarray
    commands: list[Any] = field(default_factory=list)
    images: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    overscan: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    complete: bool = True
    hk_readback: bytes = b""
    num_cycles: int | None = None

    def __post_init__(self) -> None:
        _check_start(self)
        _check_register_map(self.register_map)
        commands_json(self.commands)
        _check_pixels("images", self.images)
        _check_pixels("overscan", self.overscan)
        if not isinstance(self.complete, bool):
            raise InvalidFrameError(f"complete: a bool, not {self.complete!r}")
        _check_bytes("hk_readback", self.hk_readback, MAX_HK_BYTES)
        if self.num_cycles is not None:
            _check_int("num_cycles", self.num_cycles, -1, MAX_NUM_CYCLES)

    @property
    def nbytes(self) -> int:
        """Bytes of payload: both HKs, register map and pixels."""
        pixels = sum(a.nbytes for a in (*self.images.values(), *self.overscan.values()))
        return len(self.hk) + len(self.hk_readback) + self.register_map.nbytes + pixels


@dataclass(frozen=True)
class FrameBegun:
    """The start of a frame's readout: what is known before its pixels come."""

    obsid: str | None
    frame_counter: int
    timecode: int
    received_s: float
    hk: bytes

    def __post_init__(self) -> None:
        _check_start(self)


def _check_start(frame: Frame | FrameBegun) -> None:
    """The fields a frame and its start share."""
    if frame.obsid is not None:
        check_obsid(frame.obsid)
    _check_int("frame_counter", frame.frame_counter, 0, 2**63 - 1)
    _check_int("timecode", frame.timecode, 0, 63)
    _check_received(frame.received_s)
    _check_bytes("hk", frame.hk, MAX_HK_BYTES)


def commands_json(commands: object) -> str:
    """The commands as the JSON text stored with the frame (checked and bounded)."""
    if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
        raise InvalidFrameError(f"commands: a list of at most {MAX_COMMANDS} entries")
    try:
        text = json.dumps(commands, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidFrameError(f"commands: not plain JSON data: {exc}") from exc
    if len(text) > MAX_COMMANDS_JSON:
        raise InvalidFrameError(f"commands: {len(text)} bytes of JSON, at most {MAX_COMMANDS_JSON}")
    return text


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidFrameError(f"{name}: an integer, not {value!r}")
    if not low <= value <= high:
        raise InvalidFrameError(f"{name}: {value} is outside {low}..{high}")


def _check_received(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise InvalidFrameError(f"received_s: seconds since the epoch, not {value!r}")
    if not 0 <= value < 253_402_300_800:  # file names carry the date: years 1970-9999
        raise InvalidFrameError(f"received_s: {value} is not a time between 1970 and 9999")


def _check_bytes(name: str, value: object, limit: int) -> None:
    if not isinstance(value, bytes):
        raise InvalidFrameError(f"{name}: bytes, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidFrameError(f"{name}: {len(value)} bytes, at most {limit}")


def _check_register_map(value: object) -> None:
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 1:
        raise InvalidFrameError("register_map: a one-dimensional uint8 numpy array")
    if value.size > MAX_REGISTER_MAP_BYTES:
        raise InvalidFrameError(
            f"register_map: {value.size} bytes, at most {MAX_REGISTER_MAP_BYTES}"
        )


def _check_pixels(name: str, pixels: object) -> None:
    if not isinstance(pixels, dict):
        raise InvalidFrameError(f"{name}: a dict of (ccd, side) to uint16 arrays")
    for key, array in pixels.items():
        if key not in SLOTS:
            raise InvalidFrameError(f"{name}: {key!r} is not a (ccd 1-4, side 'E'|'F') pair")
        where = f"{name}[{slot_name(*key)}]"
        if not isinstance(array, np.ndarray) or array.ndim != 2:
            raise InvalidFrameError(f"{where}: a two-dimensional numpy array (rows, columns)")
        if array.dtype.kind != "u" or array.dtype.itemsize != 2:
            raise InvalidFrameError(f"{where}: uint16 pixels, not {array.dtype}")
        rows, cols = array.shape
        if not (0 < rows <= MAX_ROWS and 0 < cols <= MAX_COLS):
            raise InvalidFrameError(
                f"{where}: {rows} x {cols} pixels, at most {MAX_ROWS} x {MAX_COLS} and not empty"
            )
