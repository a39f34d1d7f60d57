"""Linear calibration of raw housekeeping values: ``calibrated = a * raw + b``.

The convention is the telemetry dictionary's (and the CGSE's): the column
*Slope a* holds ``a`` and the column *Offset b* holds ``b``. An empty cell means
the identity (``a = 1``, ``b = 0``), so a device that already reports in
engineering units needs nothing filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Calibration:
    """``slope * raw + offset``; applied to real numbers only."""

    slope: float = 1.0  # a
    offset: float = 0.0  # b

    @property
    def is_identity(self) -> bool:
        return self.slope == 1.0 and self.offset == 0.0

    def apply(self, raw: Any) -> Any:
        """The calibrated value; anything but an int or float is returned unchanged.

        Booleans (a heater on/off flag), strings and ``None`` (no reading) have
        no linear calibration, and a NaN stays NaN by arithmetic.
        """
        if self.is_identity or not is_real(raw):
            return raw
        return self.slope * raw + self.offset


def is_real(value: Any) -> bool:
    """True for an int or float that is not a bool (``True`` is an ``int`` in Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_reading(value: Any) -> bool:
    """True for a real number that can be compared with a limit (not NaN)."""
    return is_real(value) and not math.isnan(value)
