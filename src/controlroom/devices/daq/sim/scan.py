"""One run of the scan list (pure, no I/O): when each reading falls due.

A sweep closes each channel of the scan list in turn; the reading of a step
is made at the end of its relay settling and integration. Sweeps start
``interval`` seconds apart, or back to back when a sweep takes longer. A scan
count of 0 sweeps until ``ABORt``, so the moments are computed on demand
rather than listed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass
class ScanRun:
    """The sweeps one ``INIT`` makes and how far they have got."""

    channels: list[int]
    step_times: list[float]  # seconds per step: switching and integration
    start: float
    count: int  # sweeps; 0 means until aborted
    interval: float
    buffer: str
    made: int = 0
    aborted: bool = False
    _ends: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ends = list(itertools.accumulate(self.step_times))

    @property
    def period(self) -> float:
        return max(self.interval, self._ends[-1])

    @property
    def total(self) -> int | None:
        """Readings the run makes; None when it runs until aborted."""
        return self.count * len(self.channels) if self.count else None

    @property
    def done(self) -> bool:
        total = self.total
        return self.aborted or (total is not None and self.made >= total)

    def due(self, index: int) -> tuple[float, int]:
        """When reading ``index`` (from 0) is made, and of which channel."""
        sweep, step = divmod(index, len(self.channels))
        return self.start + sweep * self.period + self._ends[step], self.channels[step]

    def next_due(self) -> float | None:
        return None if self.done else self.due(self.made)[0]

    @property
    def end(self) -> float | None:
        """When the last reading is made; None for a scan that runs until aborted."""
        total = self.total
        return None if total is None else self.due(total - 1)[0]

    def progress(self) -> tuple[int, int]:
        """(sweeps started, steps made in the present sweep), as ``ROUT:SCAN:STAT?`` gives them."""
        sweep, step = divmod(self.made, len(self.channels))
        if step == 0 and sweep > 0:
            return sweep, len(self.channels)
        return sweep + 1, step
