"""FEE operating modes, error flags and what the FEE sends on each sync pulse.

Mode codes are the values of the ``ccd_mode_config`` register (4 bits); they
are ours, chosen once and kept stable because they are stored with every
frame:

==== ==================== ==============================================================
code mode                 on every sync pulse
==== ==================== ==============================================================
0    ON                   timecode + HK packet; CCDs unpowered (power-on mode)
1    FULL_IMAGE_PATTERN   timecode + HK + a test pattern of the readout geometry (digitise_en=1)
4    STANDBY              timecode + HK; CCDs biased, not clocked
5    FULL_IMAGE           timecode + HK + one CCD's image, data then overscan (digitise_en=1)
7    SLEEP                timecode + HK; analogue chain off
14   DUMP                 timecode + HK; CCDs clocked continuously, charge dumped, nothing sent
==== ==================== ==============================================================

With ``digitise_en=0`` the image modes clock the CCD out but send no data.
Any other code is not a mode: the FEE keeps its mode and raises
:attr:`ErrorFlag.INVALID_MODE`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FeeMode(enum.IntEnum):
    """Operating modes (``ccd_mode_config`` codes)."""

    ON = 0x0
    FULL_IMAGE_PATTERN = 0x1
    STANDBY = 0x4
    FULL_IMAGE = 0x5
    SLEEP = 0x7
    DUMP = 0xE


class ErrorFlag(enum.IntFlag):
    """The 16 error flags of the housekeeping area (``error_flags``); bits are ours."""

    COMMAND_OUTSIDE_WINDOW = 1 << 0  # an RMAP write came outside the command window
    WRITE_TO_READ_ONLY = 1 << 1  # an RMAP write addressed the housekeeping area
    INVALID_MODE = 1 << 2  # ccd_mode_config held a code that is no mode
    INVALID_READOUT = 1 << 3  # v_start/v_end/h_end/sensor_sel/packet_size out of range
    TX_BUFFER_OVERFLOW = 1 << 4  # the SpaceWire link could not take the data in time
    LINK_ERROR = 1 << 5  # the SpaceWire link reported an error
    EDAC_CORRECTED = 1 << 6  # a single-bit memory error was corrected
    EDAC_UNCORRECTABLE = 1 << 7  # a multi-bit memory error was detected


class PixelSource(enum.Enum):
    """Where the pixels of a readout come from."""

    IMAGE = "image"  # the (synthetic) sky on the CCD
    PATTERN = "pattern"  # the FEE's test pattern


@dataclass(frozen=True)
class PulseContent:
    """What the FEE sends after the timecode on one pulse."""

    housekeeping: bool
    pixels: PixelSource | None

    @property
    def sends_data(self) -> bool:
        return self.pixels is not None


_READOUT_MODES = {
    FeeMode.FULL_IMAGE: PixelSource.IMAGE,
    FeeMode.FULL_IMAGE_PATTERN: PixelSource.PATTERN,
}


def mode_from_code(code: int) -> FeeMode | None:
    """The mode a ``ccd_mode_config`` code selects, or None for a code that is no mode."""
    try:
        return FeeMode(code)
    except ValueError:
        return None


def pulse_content(mode: FeeMode, digitise_en: int) -> PulseContent:
    """HK on every pulse; pixels only in an image mode with digitisation enabled."""
    source = _READOUT_MODES.get(mode) if digitise_en else None
    return PulseContent(housekeeping=True, pixels=source)
