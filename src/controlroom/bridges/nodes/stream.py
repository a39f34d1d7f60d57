"""Bounded helpers of the bridge: each node's live line stream, and rate-limited logging.

A node sends hundreds of lines a second; a terminal page needs far fewer.
:class:`LineStream` keeps at most ``per_period`` lines per node between two
drains (the rest are counted as skipped), and the bridge publishes each
drain as one message on ``node/<node-id>``. :class:`RateLimit` lets a few log
records per second and per node through and counts what it held back, so a
node that sends garbage cannot flood the logs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

RECEIVED, SENT = "<", ">"  # direction of a streamed line, seen from the bridge


@dataclass
class _Pending:
    lines: list[tuple[float, str, str]] = field(default_factory=list)
    skipped: int = 0


class LineStream:
    """Per node, the lines since the last :meth:`drain`, at most ``per_period`` of them."""

    def __init__(self, per_period: int) -> None:
        self.per_period = per_period
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()  # lines sent by operators come from another thread
        self.skipped = 0

    def add(self, node: str, when: float, direction: str, text: str) -> None:
        with self._lock:
            pending = self._pending.get(node)
            if pending is None:
                pending = self._pending[node] = _Pending()
            if len(pending.lines) < self.per_period:
                pending.lines.append((when, direction, text))
            else:
                pending.skipped += 1
                self.skipped += 1

    def drain(self) -> dict[str, dict[str, Any]]:
        """Node → ``{lines: [[time, direction, text], ...], skipped}`` since the last drain."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return {
            node: {"node": node, "lines": [list(line) for line in p.lines], "skipped": p.skipped}
            for node, p in pending.items()
        }


class RateLimit:
    """At most ``per_s`` events per second per key (a token bucket with one second's burst)."""

    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last time)
        self._held: dict[str, int] = {}
        self.held_back = 0

    def allow(self, key: str, now: float) -> int | None:
        """None when over the rate (counted); else how many were held back before this one."""
        tokens, last = self._buckets.get(key, (self.per_s, now))
        tokens = min(self.per_s, tokens + (now - last) * self.per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            self._held[key] = self._held.get(key, 0) + 1
            self.held_back += 1
            return None
        self._buckets[key] = (tokens - 1.0, now)
        return self._held.pop(key, 0)
