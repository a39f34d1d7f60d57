"""Limit bands with hysteresis: a noisy value on a limit raises one alarm, not a hundred.

Every parameter may have two bands, from the dictionary's MIN/MAX columns: the
*operational* band (where the test wants it) inside the *non-operational* band
(where the hardware is safe). Each band is watched on its own:

* **entering the alarm** is immediate: the first sample strictly outside the
  band (limits are inclusive) raises ``entered_alarm``;
* **back to normal** needs the value to come back *inside the band by a
  margin*, for ``samples`` consecutive samples. The margin is
  ``max(absolute, relative * span)``, where the span is the width of the
  non-operational band (else of the operational band, else the largest limit's
  magnitude), and never more than a quarter of the band's own width, so a
  value can always come back.

With the default (1 % of the span, one sample) a reading whose noise is smaller
than the margin crosses a limit exactly once each way. Values that are not
real numbers (booleans, ``None``, NaN) are not checked and change no state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlroom.telemetry.calibration import is_reading

OPERATIONAL, NON_OPERATIONAL = "operational", "non_operational"
NORMAL, ALARM = "normal", "alarm"
ENTERED, CLEARED = "entered_alarm", "back_to_normal"
HIGH, LOW = "high", "low"

# The fields of one crossing: the ``limit`` event's data and a row of the LIMITS origin.
LIMIT_FIELDS = (
    "time",
    "origin",
    "parameter",
    "band",
    "state",
    "side",
    "value",
    "unit",
    "low",
    "high",
)


@dataclass(frozen=True, slots=True)
class Band:
    """``low <= value <= high``; a side that is ``None`` has no limit."""

    low: float | None = None
    high: float | None = None

    @property
    def is_set(self) -> bool:
        return self.low is not None or self.high is not None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low

    def outside(self, value: float) -> str | None:
        """``"high"`` or ``"low"`` when ``value`` is beyond that limit, else ``None``."""
        if self.high is not None and value > self.high:
            return HIGH
        if self.low is not None and value < self.low:
            return LOW
        return None

    def inside_by(self, value: float, margin: float) -> bool:
        """True when ``value`` is at least ``margin`` inside every limit that is set."""
        above_low = self.low is None or value >= self.low + margin
        return above_low and (self.high is None or value <= self.high - margin)


@dataclass(frozen=True, slots=True)
class Limits:
    """The operational band and the non-operational band of one parameter."""

    operational: Band = Band()
    non_operational: Band = Band()

    @property
    def is_set(self) -> bool:
        return self.operational.is_set or self.non_operational.is_set

    @property
    def span(self) -> float:
        """The scale a relative hysteresis margin is taken of."""
        for band in (self.non_operational, self.operational):
            if band.width:
                return band.width
        ops, nonops = self.operational, self.non_operational
        sides = (ops.low, ops.high, nonops.low, nonops.high)
        return max((abs(s) for s in sides if s is not None), default=0.0) or 1.0


@dataclass(frozen=True)
class Hysteresis:
    """How far and how long a value must be back inside a band to clear an alarm."""

    relative: float = 0.01  # fraction of the parameter's span
    absolute: float = 0.0  # in the parameter's unit
    samples: int = 1  # consecutive samples inside by the margin

    def __post_init__(self) -> None:
        if self.relative < 0 or self.absolute < 0 or self.samples < 1:
            raise ValueError("hysteresis margins must be >= 0 and samples >= 1")

    def margin(self, limits: Limits, band: Band) -> float:
        margin = max(self.absolute, self.relative * limits.span)
        width = band.width
        return margin if width is None else min(margin, width / 4)


@dataclass
class BandWatch:
    """The state of one band of one parameter."""

    band: Band
    margin: float
    samples: int
    state: str = NORMAL
    side: str | None = None
    since: float | None = None
    _inside: int = field(default=0, repr=False)

    def update(self, value: float, time: float) -> str | None:
        """Feed one value; the transition it causes (ENTERED/CLEARED) or ``None``."""
        if self.state == NORMAL:
            side = self.band.outside(value)
            if side is None:
                return None
            self.state, self.side, self.since, self._inside = ALARM, side, time, 0
            return ENTERED
        self._inside = self._inside + 1 if self.band.inside_by(value, self.margin) else 0
        if self._inside < self.samples:
            return None
        self.state, self.since = NORMAL, time
        return CLEARED

    def describe(self) -> dict[str, Any]:
        side = self.side if self.state == ALARM else None
        return {"state": self.state, "side": side, "since": self.since}


class LimitMonitor:
    """Watches both bands of one parameter and reports each crossing."""

    def __init__(
        self, name: str, origin: str, unit: str, limits: Limits, hysteresis: Hysteresis
    ) -> None:
        self.name, self.origin, self.unit = name, origin, unit
        self.watches = {
            label: BandWatch(band, hysteresis.margin(limits, band), hysteresis.samples)
            for label, band in (
                (OPERATIONAL, limits.operational),
                (NON_OPERATIONAL, limits.non_operational),
            )
            if band.is_set
        }
        self.value: Any = None
        self.time: float | None = None

    def check(self, value: Any, time: float) -> list[dict[str, Any]]:
        """The crossings ``value`` causes (usually none), as LIMIT_FIELDS records."""
        if not is_reading(value):
            return []
        self.value, self.time = value, time
        crossings = []
        for label, watch in self.watches.items():
            transition = watch.update(value, time)
            if transition is not None:
                crossings.append(self._record(label, watch, transition, value, time))
        return crossings

    def _record(
        self, label: str, watch: BandWatch, transition: str, value: float, time: float
    ) -> dict[str, Any]:
        band = watch.band
        return {
            "time": time,
            "origin": self.origin,
            "parameter": self.name,
            "band": label,
            "state": transition,
            "side": watch.side,
            "value": value,
            "unit": self.unit,
            "low": band.low,
            "high": band.high,
        }

    @property
    def in_alarm(self) -> bool:
        return any(watch.state == ALARM for watch in self.watches.values())

    def describe(self) -> dict[str, Any]:
        """The state of each band, with the last value checked."""
        bands = {label: watch.describe() for label, watch in self.watches.items()}
        return {"value": self.value, "time": self.time, "unit": self.unit, **bands}
