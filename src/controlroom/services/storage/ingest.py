"""Taking batches in: check them, register new columns, write them to every backend.

A batch is acknowledged (its future is done, and ``store`` answers) only once
every backend's ``append`` has returned, which each does only once the rows
are durable. The command thread only registers new columns and hands the
batch to the workers; their replies complete the batch's future, so the next
batch is taken in while the backends write this one. A failure is one of two
kinds, and the reply says which:

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
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from controlroom.services.storage.batch import Batch
from controlroom.services.storage.errors import RowsRefused, StoreFailed
from controlroom.services.storage.health import BackendHealth
from controlroom.services.storage.unacked import Share, UnackedRows, fingerprints
from controlroom.services.storage.workers import Worker, when_all
from controlroom.storage import InvalidRowsError

log = logging.getLogger(__name__)


class Ingest:
    """Writes batches to ``workers``; keeps the registrations and the counters."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        if not workers:
            raise StoreFailed("no storage backend is configured")
        self.workers = list(workers)
        self.health = BackendHealth(w.kind for w in self.workers)
        self.unacked = UnackedRows()
        self._columns: dict[str, list[str]] = {}
        # Counters are read by the status thread; counters and unacked rows are
        # updated by whichever thread completes a batch.
        self._lock = threading.Lock()
        self.rows = self.batches = self.refused = self.failures = 0
        self.per_origin: dict[str, int] = {}
        self.last_store: float | None = None
        self._sync_registrations()

    # -- registrations -------------------------------------------------------------------

    def _sync_registrations(self) -> None:
        known: dict[str, list[str]] = {}
        for worker in self.workers:
            for origin, columns in worker.registrations().items():
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
        futures = [w.register(origin, columns) for w in self.workers]
        self._judge(self._outcomes(futures), what=f"register {origin}")

    # -- batches ---------------------------------------------------------------------------

    def store(self, origin: str, rows: Sequence[Any]) -> int:
        """Store ``rows`` (maps as a sender sends them) in every backend; the row count."""
        return self.submit_maps(origin, rows).result()

    def submit_maps(self, origin: str, rows: Sequence[Any]) -> Future[int]:
        """:meth:`submit` of ``{timestamp, values, setup_id, obsid}`` maps."""
        try:
            batch = Batch.of_maps(origin, rows)
        except RowsRefused:
            self._count(refused=len(rows) if isinstance(rows, list | tuple) else 1)
            raise
        return self.submit(batch)

    def submit_packed(self, origin: str, columns: Sequence[str], packed: bytes) -> Future[int]:
        """:meth:`submit` of a table whose rows are packed (see :mod:`.batch`)."""
        try:
            batch = Batch(origin, columns, packed=packed)
        except RowsRefused:
            self._count(refused=1)
            raise
        return self.submit(batch)

    def submit(self, batch: Batch) -> Future[int]:
        """Hand ``batch`` to every backend; the future gives the row count once all have it.

        Registering new columns happens here and now (a failure raises); the
        future fails with ``RowsRefused`` or ``StoreFailed``.
        """
        try:
            self._register_new_columns(batch.origin, batch.columns)
            with self._lock:
                shares = self._shares(batch)
        except RowsRefused:
            self._count(refused=batch.count)
            raise
        except StoreFailed:
            self._count(failures=1)
            raise
        futures = [_append(w, share.batch) for w, share in zip(self.workers, shares, strict=True)]
        done: Future[int] = Future()
        when_all(futures, lambda: self._finish(batch, shares, futures, done))
        return done

    def _register_new_columns(self, origin: str, columns: list[str]) -> None:
        known = self._columns.get(origin, ())
        if any(name not in known for name in columns):
            self.register(origin, columns)

    def _shares(self, batch: Batch) -> list[Share]:
        """What each backend gets of ``batch``: the rows it does not hold yet."""
        try:
            keys = fingerprints(batch) if self.unacked else None
        except InvalidRowsError as exc:
            raise RowsRefused(str(exc)) from None
        return [self.unacked.share(worker, batch, keys) for worker in self.workers]

    def _finish(
        self,
        batch: Batch,
        shares: list[Share],
        futures: list[Future[None] | None],
        done: Future[int],
    ) -> None:
        """Judge a batch once every backend answered, and complete its future."""
        try:
            outcomes = self._outcomes(futures)
            with self._lock:
                self._settle(shares, outcomes)
            self._judge(outcomes, what=f"store {batch.count} {batch.origin} rows")
        except RowsRefused as exc:
            self._count(refused=batch.count)
            _complete(done, error=exc)
        except Exception as exc:  # StoreFailed, or a bug: either way not stored yet
            self._count(failures=1)
            _complete(done, error=exc if isinstance(exc, StoreFailed) else StoreFailed(str(exc)))
        else:
            self._count(batch.origin, batch.count)
            _complete(done, batch.count)

    def _settle(self, shares: list[Share], outcomes: list[Exception | None]) -> None:
        """Update which rows each backend holds unacknowledged, after a batch's outcome."""
        retried = any(exc is not None and not _refusal(exc) for exc in outcomes)
        for worker, share, exc in zip(self.workers, shares, outcomes, strict=True):
            if not retried:  # acknowledged or refused: the batch will not come again
                self.unacked.release(worker, share.held)
            elif exc is None and share.batch.count:
                keys = share.keys if share.keys is not None else fingerprints(share.batch)
                self.unacked.hold(worker, keys)

    def _outcomes(self, futures: Sequence[Future[Any] | None]) -> list[Exception | None]:
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
        with self._lock:
            unacked = {w.kind: self.unacked.size(w) for w in self.workers}
        backends = {
            w.kind: {
                **w.describe(),
                **self.health.describe(w.kind),
                "unacked_rows": unacked[w.kind],
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


def _refusal(exc: Exception) -> bool:
    """Rows that can never be stored; anything else is a backend in trouble (retry)."""
    return isinstance(exc, InvalidRowsError | RowsRefused)


def _append(worker: Worker, batch: Batch) -> Future[None] | None:
    """``worker.append(batch)``; None for no rows, a failed future when it cannot even start."""
    if not batch.count:
        return None
    try:
        return worker.append(batch)
    except Exception as exc:  # a backend process that cannot be started again, or closed
        failed: Future[None] = Future()
        failed.set_exception(exc)
        return failed


def _complete(done: Future[int], count: int = 0, error: Exception | None = None) -> None:
    """Give ``done`` its outcome, unless the server gave up on it (stopping: cancelled)."""
    try:
        if error is None:
            done.set_result(count)
        else:
            done.set_exception(error)
    except InvalidStateError:
        log.info("a batch was settled after its reply was given up (the server stops)")
