"""Taking batches in: check them, register new columns, write them to every backend.

A batch is acknowledged (``store`` returns) only once every backend's
``append`` has returned, which each does only once the rows are durable. A
failure is one of two kinds, and the reply says which:

* ``RowsRefused``: the rows can never be stored (a bad name, a value of the
  wrong type: `InvalidRowsError` from the backends). The sender gives them up.
* ``StoreFailed``: not stored yet. Any other error (a full disk, an I/O error,
  a locked database, a server down, or one nobody foresaw) leaves the rows
  valid; the sender keeps them and sends them again, and
  :class:`~.health.BackendHealth` raises the alarm until it works again.

When one backend took a batch and another failed, the retry must not store the
batch twice where it already is: :class:`~.unacked.UnackedRows` remembers
which rows each backend holds unacknowledged, and a retry gives each backend
only the rows it lacks. Every backend stores all of a batch or nothing of it,
also when it fails, so that memory is exact.

Registrations live in the backends (they persist them). At start the workers
are brought to the same registrations, so a backend added to the Settings
later learns the origins the others already know.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from controlroom.services.storage.errors import RowsRefused, StoreFailed
from controlroom.services.storage.health import BackendHealth
from controlroom.services.storage.unacked import Share, UnackedRows, fingerprints
from controlroom.services.storage.workers import BackendWorker
from controlroom.storage import InvalidRowsError, Row

log = logging.getLogger(__name__)


class Ingest:
    """Writes batches to ``workers``; keeps the registrations and the counters."""

    def __init__(self, workers: Sequence[BackendWorker]) -> None:
        if not workers:
            raise StoreFailed("no storage backend is configured")
        self.workers = list(workers)
        self.health = BackendHealth(w.kind for w in self.workers)
        self.unacked = UnackedRows()
        self._columns: dict[str, list[str]] = {}
        self._lock = threading.Lock()  # counters are read by the status thread
        self.rows = self.batches = self.refused = self.failures = 0
        self.per_origin: dict[str, int] = {}
        self.last_store: float | None = None
        self._sync_registrations()

    # -- registrations -------------------------------------------------------------------

    def _sync_registrations(self) -> None:
        known: dict[str, list[str]] = {}
        for worker in self.workers:
            for origin, columns in worker.call(_registrations).items():
                merged = known.setdefault(origin, [])
                merged.extend(c for c in columns if c not in merged)
        for origin, columns in known.items():
            self._register_everywhere(origin, columns)
        self._columns = known

    def columns(self) -> dict[str, list[str]]:
        """Every origin and its columns, in registration order."""
        return {origin: list(columns) for origin, columns in self._columns.items()}

    def register(self, origin: str, columns: Iterable[str]) -> list[str]:
        """Register ``origin`` with ``columns`` (extending it); returns all its columns."""
        merged = list(self._columns.get(origin, []))
        merged.extend(c for c in dict.fromkeys(columns) if c not in merged)
        if merged != self._columns.get(origin):
            self._register_everywhere(origin, merged)
            self._columns[origin] = merged
        return list(merged)

    def _register_everywhere(self, origin: str, columns: list[str]) -> None:
        futures = [w.submit(lambda b: b.register(origin, columns)) for w in self.workers]
        self._judge(self._wait(futures), what=f"register {origin}")

    # -- batches ---------------------------------------------------------------------------

    def store(self, origin: str, batch: Sequence[Any]) -> int:
        """Store ``batch`` (rows as sent by a sender) in every backend; returns the row count."""
        try:
            rows = decode_rows(batch)
            self._register_new_columns(origin, rows)
            self._append_everywhere(origin, rows)
        except RowsRefused:
            self._count(refused=len(batch) if isinstance(batch, list | tuple) else 1)
            raise
        except StoreFailed:
            self._count(failures=1)
            raise
        self._count(origin, len(rows))
        return len(rows)

    def _register_new_columns(self, origin: str, rows: list[Row]) -> None:
        known = self._columns.get(origin, ())
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row.values))
        if any(name not in known for name in seen):
            self.register(origin, seen)

    def _append_everywhere(self, origin: str, rows: list[Row]) -> None:
        """Give each backend the rows of the batch it does not hold yet; all must store them."""
        keys = fingerprints(origin, rows) if self.unacked else None
        shares = [self.unacked.share(worker, rows, keys) for worker in self.workers]
        futures = [
            worker.append(origin, share.rows) if share.rows else None
            for worker, share in zip(self.workers, shares, strict=True)
        ]
        outcomes = self._wait(futures)
        self._settle(origin, shares, outcomes)
        self._judge(outcomes, what=f"store {len(rows)} {origin} rows")

    def _settle(self, origin: str, shares: list[Share], outcomes: list[Exception | None]) -> None:
        """Update which rows each backend holds unacknowledged, after a batch's outcome."""
        retried = any(exc is not None and not _refusal(exc) for exc in outcomes)
        for worker, share, exc in zip(self.workers, shares, outcomes, strict=True):
            if not retried:  # acknowledged or refused: the batch will not come again
                self.unacked.release(worker, share.held)
            elif exc is None and share.rows:
                keys = share.keys if share.keys is not None else fingerprints(origin, share.rows)
                self.unacked.hold(worker, keys)

    def _wait(self, futures: list[Any]) -> list[Exception | None]:
        """Each backend's outcome (None: done), followed in its health."""
        outcomes: list[Exception | None] = []
        for worker, future in zip(self.workers, futures, strict=True):
            try:
                if future is not None:
                    future.result()
            except Exception as exc:
                outcomes.append(exc)
                if not _refusal(exc):
                    self.health.failed(worker.kind, exc)
                continue
            outcomes.append(None)
            if future is not None:
                self.health.stored(worker.kind)
        return outcomes

    def _judge(self, outcomes: list[Exception | None], what: str) -> None:
        """Raise for the failures: a refusal only when every one is a refusal."""
        problems = [
            (worker.kind, exc)
            for worker, exc in zip(self.workers, outcomes, strict=True)
            if exc is not None
        ]
        if not problems:
            return
        text = "; ".join(f"{kind}: {exc}" for kind, exc in problems)
        if all(_refusal(exc) for _, exc in problems):
            raise RowsRefused(f"{what} refused: {text}")
        log.warning("%s not stored yet: %s", what, text)
        raise StoreFailed(f"{what} not stored yet: {text}")

    def _count(self, origin: str = "", rows: int = 0, refused: int = 0, failures: int = 0) -> None:
        with self._lock:
            self.refused += refused
            self.failures += failures
            if rows:
                self.rows += rows
                self.batches += 1
                self.per_origin[origin] = self.per_origin.get(origin, 0) + rows
                self.last_store = time.time()

    def stats(self) -> dict[str, Any]:
        """Rows and batches stored, refusals, failures, per origin and per backend."""
        backends = {
            w.kind: {
                **w.describe(),
                **self.health.describe(w.kind),
                "unacked_rows": self.unacked.size(w),
            }
            for w in self.workers
        }
        with self._lock:
            return {
                "rows": self.rows,
                "batches": self.batches,
                "refused_rows": self.refused,
                "failures": self.failures,
                "write_failures": self.health.write_failures,
                "backends_ok": self.health.all_ok(),
                "last_store": self.last_store,
                "per_origin": dict(self.per_origin),
                "backends": backends,
            }

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def _registrations(backend: Any) -> dict[str, list[str]]:
    return {origin: backend.columns(origin) for origin in backend.origins()}


def _refusal(exc: Exception) -> bool:
    """Rows that can never be stored; anything else is a backend in trouble (retry)."""
    return isinstance(exc, InvalidRowsError | RowsRefused)


def decode_rows(batch: Sequence[Any]) -> list[Row]:
    """Rows from ``{timestamp, values, setup_id, obsid}`` maps; RowsRefused if malformed."""
    if not isinstance(batch, list | tuple):
        raise RowsRefused(f"rows must be a list, not {type(batch).__name__}")
    try:
        rows = [
            Row(item["timestamp"], item["values"], item.get("setup_id"), item.get("obsid"))
            for item in batch
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise RowsRefused(
            f"each row is a map {{timestamp, values, setup_id, obsid}} ({exc!r})"
        ) from None
    for row in rows:  # the backends check the rest: names, types, timestamps
        if not isinstance(row.values, Mapping):
            raise RowsRefused(f"values must be a map, not {type(row.values).__name__}")
    return rows
