"""How long priority requests waited for the loop, counted in buckets for the status.

A priority request waits from the moment it is queued (the control
endpoint took it) until the loop answers it. That wait is the processor's
part of a request's latency; the rest is the caller's transport and
scheduling. The loop counts every answered request in one bucket (up to
1 ms, 2, 5, 10, 20, 50, 100 ms, and over) and keeps the longest wait, so a
status reader can tell a late loop from a slow path to it, and a bench can
take the difference of two readings. A query the control endpoint answers
from the loop's published mirror waits for nobody: the endpoint counts it
the same way (from its reading to its reply), added in the status.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100)


def bucket_names() -> list[str]:
    """``le_1ms``, ..., ``le_100ms``, ``over_100ms``: the keys of :meth:`WaitCounts.as_dict`."""
    return [f"le_{bound}ms" for bound in BOUNDS_MS] + [f"over_{BOUNDS_MS[-1]}ms"]


@dataclass
class WaitCounts:
    """Waits counted per bucket, and the longest (used from one thread: the loop's)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))
    longest_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BOUNDS_MS, seconds * 1e3)] += 1
        self.longest_s = max(self.longest_s, seconds)

    def as_dict(self) -> dict[str, float]:
        """The counts by bucket name, and ``longest_ms``."""
        counted: dict[str, float] = dict(zip(bucket_names(), self.counts, strict=True))
        return counted | {"longest_ms": round(self.longest_s * 1e3, 3)}


def combined(counted: dict[str, float], more: WaitCounts) -> dict[str, float]:
    """``counted`` (an :meth:`WaitCounts.as_dict`) with the waits of ``more`` added."""
    added = more.as_dict()
    together = {name: counted.get(name, 0) + added[name] for name in bucket_names()}
    return together | {"longest_ms": max(counted.get("longest_ms", 0.0), added["longest_ms"])}
