"""Watching the storage backlog the bridge pauses for: telling a stalled one.

While the rows waiting for storage are above ``high_water_rows`` no node
connection is read, and TCP slows the nodes down. That is right while the
sink drains, and while storage is away (its rows are kept and sent once it is
back). It wedges the whole fleet, heartbeats and commands included, when the
sink can reach storage but has stopped taking rows (its thread ended, a batch
it neither stores nor gives up...): nothing would ever resume reading.

:class:`BacklogWatch` is told, every bridge tick, the backlog and whether the
sink made progress. A backlog above the high-water mark that made none for
``stall_s`` while storage is reachable is *stalled*: the bridge reports it and
reads the nodes again, leaving the bound of the sink's own queue (which drops
the oldest rows and counts them) to hold memory, until the sink makes
progress again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Change = Literal["stalled", "recovered"]


@dataclass(frozen=True, slots=True)
class BacklogSample:
    """What the sinks say at one tick.

    ``drained``: rows the sinks are done with (stored or refused), None when
    they do not tell (then a shrinking backlog is the only sign of progress);
    ``reachable``: False while the sinks know storage is away.
    """

    backlog: int
    over: bool  # above the high-water mark: reading is paused
    drained: int | None
    reachable: bool
    now: float


class BacklogWatch:
    """Tells when a paused-for backlog stops draining, and when it drains again."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self.stalled = False
        self.stalls = 0  # stalls seen since the start
        self.stall_length_s = 0.0  # of the current stall, or of the last one once over
        self._last: BacklogSample | None = None
        self._progress_at = 0.0  # when the backlog last drained, or reading was not paused

    @property
    def bypass(self) -> bool:
        """Read the nodes despite the backlog: stalled, and storage still reachable."""
        last = self._last
        return self.stalled and last is not None and last.reachable

    def observe(self, sample: BacklogSample) -> Change | None:
        """Take one sample; returns the change it makes, if any."""
        last, self._last = self._last, sample
        progress = last is None or _drained(last, sample)
        if self.stalled:
            self.stall_length_s = sample.now - self._progress_at
            if progress or not sample.over:
                return self._recover(sample.now)
            return None
        if progress or not sample.over or not sample.reachable:
            self._progress_at = sample.now  # draining, not paused, or a pause that is expected
            return None
        if sample.now - self._progress_at < self.stall_s:
            return None
        self.stalled, self.stall_length_s = True, sample.now - self._progress_at
        self.stalls += 1
        return "stalled"

    def _recover(self, now: float) -> Change:
        self.stalled, self._progress_at = False, now
        return "recovered"


def _drained(before: BacklogSample, after: BacklogSample) -> bool:
    if after.drained is not None and before.drained is not None:
        return after.drained > before.drained
    return after.backlog < before.backlog
