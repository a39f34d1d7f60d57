"""The bounded queue between a server's threads (producers) and a sender's thread.

Producers never wait: when the queue is full the oldest row is dropped and
counted. The sender's thread takes batches and gives back the ones it could
not deliver, in front, so the order of rows is kept; what no longer fits then
is again the oldest. Memory is bounded by ``limit`` rows plus the one batch
in flight.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class QueuedRow:
    """A row waiting to be sent; ``payload`` becomes its values on the sender's thread."""

    origin: str
    timestamp: float  # UTC seconds: the sample's own time
    setup_id: Any
    obsid: Any
    payload: Any
    queued_at: float = field(default_factory=time.monotonic)


class RowQueue:
    """At most ``limit`` rows, oldest first; batches of ``batch`` rows for the taker."""

    def __init__(self, limit: int, batch: int) -> None:
        self.limit = limit
        self.batch = batch
        self.dropped = 0
        self._rows: collections.deque[QueuedRow] = collections.deque()
        # Producers take the plain lock (cheaper than the condition's methods, once per
        # sample); the taker waits on the condition over the same lock.
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._closed = False

    def __len__(self) -> int:
        return len(self._rows)

    def oldest(self) -> float | None:
        """The timestamp of the oldest row waiting, None when empty."""
        with self._ready:
            return self._rows[0].timestamp if self._rows else None

    def put(self, row: QueuedRow) -> None:
        """Add ``row``; drops the oldest when full. Never waits (beyond a short lock)."""
        with self._lock:
            if len(self._rows) >= self.limit:
                self._rows.popleft()
                self.dropped += 1
            self._rows.append(row)
            # Wake the taker for a first row (its delay starts) and for a full batch.
            if len(self._rows) in (1, self.batch):
                self._ready.notify()

    def take(self, delay_s: float) -> list[QueuedRow]:
        """A batch once ``batch`` rows wait or the oldest waited ``delay_s``; [] once closed."""
        with self._ready:
            while not self._closed and len(self._rows) < self.batch:
                if not self._rows:
                    self._ready.wait()
                    continue
                wait = self._rows[0].queued_at + delay_s - time.monotonic()
                if wait <= 0:
                    break
                self._ready.wait(wait)
            count = min(len(self._rows), self.batch)
            return [self._rows.popleft() for _ in range(count)]

    def give_back(self, rows: list[QueuedRow]) -> None:
        """Put undelivered ``rows`` back in front; beyond the limit the oldest are dropped."""
        with self._ready:
            self._rows.extendleft(reversed(rows))
            while len(self._rows) > self.limit:
                self._rows.popleft()
                self.dropped += 1

    def close(self) -> None:
        """From now on :meth:`take` returns what waits at once (and [] when nothing does)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
