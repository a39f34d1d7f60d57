"""Sensor response curves of the simulated Model 336 inputs (pure functions).

A real controller turns a measured voltage or resistance into kelvin through a
curve; the simulator goes the other way, from the modelled temperature to what
the sensor would show, so ``SRDG?`` and ``KRDG?`` stay consistent with ``INTYPE``.
"""

from __future__ import annotations

import bisect
import math
from enum import IntEnum


class SensorType(IntEnum):
    """Sensor types of ``INTYPE`` that the simulated inputs support."""

    DISABLED = 0
    DIODE = 1
    PLATINUM = 2
    NTC = 3


# Points of the Lake Shore DT-670 standard curve (K, V); linear between them is
# within a few mV of the full table, plenty for a simulator.
_DT670 = (
    (1.4, 1.64429), (2.0, 1.63472), (3.0, 1.61200), (4.0, 1.58465), (4.2, 1.57848),
    (5.0, 1.55145), (6.0, 1.51541), (8.0, 1.44374), (10.0, 1.38373), (12.0, 1.33499),
    (15.0, 1.27645), (18.0, 1.22830), (20.0, 1.197748), (22.0, 1.162797),
    (24.0, 1.125923), (25.0, 1.119448), (26.0, 1.115658), (28.0, 1.110421),
    (30.0, 1.106244), (35.0, 1.097216), (40.0, 1.089024), (50.0, 1.073099),
    (60.0, 1.056862), (77.35, 1.027594), (90.0, 1.005244), (100.0, 0.986974),
    (120.0, 0.949000), (150.0, 0.889114), (200.0, 0.783720), (250.0, 0.673462),
    (273.0, 0.621141), (300.0, 0.559639), (350.0, 0.443371), (400.0, 0.325839),
    (450.0, 0.206758), (500.0, 0.090681),
)  # fmt: skip
_DT670_T = tuple(t for t, _ in _DT670)

# IEC 60751 Callendar-Van Dusen coefficients of a Pt100.
_PT_R0, _PT_A, _PT_B, _PT_C = 100.0, 3.9083e-3, -5.775e-7, -4.183e-12
_PT_CVD_MIN_K = 73.15
# Below -200 °C the CVD polynomial turns negative; a power law joins it smoothly.
_PT_LOW_EXPONENT = 1.72

# No standard curve: a generic Cernox-like law, R = R300 (300 K / T) ** n.
_NTC_R300, _NTC_EXPONENT = 60.0, 0.85

VALID_RANGE_K: dict[SensorType, tuple[float, float]] = {
    SensorType.DIODE: (1.4, 500.0),
    SensorType.PLATINUM: (30.0, 800.0),
    SensorType.NTC: (1.4, 420.0),
}
"""Temperature span of each curve; outside it the 336 flags T.UNDER / T.OVER."""

CURVE_NUMBER: dict[SensorType, int] = {
    SensorType.DISABLED: 0,
    SensorType.DIODE: 2,  # DT-670
    SensorType.PLATINUM: 6,  # PT-100
    SensorType.NTC: 21,  # first user curve
}
"""What ``INCRV?`` reports for each sensor type."""


def dt670_volts(kelvin: float) -> float:
    """Forward voltage of a DT-670 diode at 10 µA."""
    i = min(max(bisect.bisect_left(_DT670_T, kelvin), 1), len(_DT670) - 1)
    (t0, v0), (t1, v1) = _DT670[i - 1], _DT670[i]
    return v0 + (v1 - v0) * (kelvin - t0) / (t1 - t0)


def pt100_ohms(kelvin: float) -> float:
    """Resistance of a Pt100 (Callendar-Van Dusen, extended below 73 K)."""
    if kelvin < _PT_CVD_MIN_K:
        scale: float = (max(kelvin, 0.0) / _PT_CVD_MIN_K) ** _PT_LOW_EXPONENT
        return _cvd_ohms(_PT_CVD_MIN_K) * scale
    return _cvd_ohms(kelvin)


def _cvd_ohms(kelvin: float) -> float:
    t = kelvin - 273.15
    ratio = 1.0 + _PT_A * t + _PT_B * t * t
    if t < 0.0:
        ratio += _PT_C * (t - 100.0) * t**3
    return _PT_R0 * ratio


def ntc_ohms(kelvin: float) -> float:
    """Resistance of a generic Cernox-like NTC sensor."""
    scale: float = (300.0 / max(kelvin, 0.1)) ** _NTC_EXPONENT
    return _NTC_R300 * scale


def sensor_units(sensor: SensorType, kelvin: float) -> float:
    """What ``SRDG?`` shows: volts for a diode, ohms for a resistor, 0 when disabled."""
    if sensor is SensorType.DIODE:
        return dt670_volts(kelvin)
    if sensor is SensorType.PLATINUM:
        return pt100_ohms(kelvin)
    if sensor is SensorType.NTC:
        return ntc_ohms(kelvin)
    return 0.0


def in_range(sensor: SensorType, kelvin: float) -> bool:
    """Whether the curve of ``sensor`` covers ``kelvin`` (never for a disabled input)."""
    low, high = VALID_RANGE_K.get(sensor, (math.inf, -math.inf))
    return low <= kelvin <= high
