"""Who runs each backend for the storage manager: a process of its own, or a thread here.

Backends are not thread-safe, so each one is owned by one worker and only its
worker calls it. The storage manager hands a batch to all workers at once and
acknowledges it once all of them stored it: a batch takes as long as the
slowest backend, not as long as all of them together.

Every configured backend runs in a process of its own (:mod:`.procworker`):
decoding, checking and formatting rows is Python work, and in one process the
backends and the server's threads would share one interpreter lock. A
:class:`BackendWorker` runs a backend on a thread of this process instead: for
a backend object made here (tests hand in one they can make fail), and for
managers that run inside another program. Both have the same methods
(:class:`Worker`); they return futures where the manager goes on meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from controlroom.services.storage.batch import Batch, store_table
from controlroom.storage import Backend, Row, open_backend

log = logging.getLogger(__name__)

T = TypeVar("T")
Opener = Callable[..., Backend]  # open_backend, or a stand-in in tests


@dataclass
class WorkerStats:
    """What one backend has done: batches, rows, seconds spent, errors (any thread)."""

    batches: int = 0
    rows: int = 0
    seconds: float = 0.0
    errors: int = 0
    last_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stored(self, rows: int, seconds: float) -> None:
        with self._lock:
            self.batches += 1
            self.rows += rows
            self.seconds += seconds

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"

    def describe(self) -> dict[str, Any]:
        with self._lock:
            mean_ms = 1000 * self.seconds / self.batches if self.batches else 0.0
            return {
                "batches": self.batches,
                "rows": self.rows,
                "mean_batch_ms": mean_ms,
                "errors": self.errors,
                "last_error": self.last_error,
            }


class Worker(Protocol):
    """What the storage manager asks of a backend's worker."""

    kind: str

    def register(self, origin: str, columns: list[str]) -> Future[None]:
        """Register ``origin`` with ``columns`` in the backend."""

    def append(self, batch: Batch) -> Future[None]:
        """Store ``batch``; the future is done once it is durable (or failed)."""

    def registrations(self) -> dict[str, list[str]]:
        """Every origin the backend knows, with its columns."""

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        """The backend's ``latest``."""

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """The backend's ``range``."""

    def describe(self) -> dict[str, Any]:
        """Batches, rows, mean time per batch, errors."""

    def close(self) -> None:
        """Close the backend and let go of whatever runs it; idempotent."""


class BackendWorker:
    """The backend ``kind`` opened with ``options``, owned by a thread of its own."""

    def __init__(
        self, kind: str, options: Mapping[str, Any], opener: Opener = open_backend
    ) -> None:
        self.kind = kind
        self.stats = WorkerStats()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"storage-{kind}")
        try:
            self._backend = self._executor.submit(opener, kind, **options).result()
        except BaseException:
            self._executor.shutdown()
            raise

    def submit(self, work: Callable[[Backend], T]) -> Future[T]:
        """Run ``work(backend)`` on the worker's thread."""
        return self._executor.submit(work, self._backend)

    def call(self, work: Callable[[Backend], T]) -> T:
        """Run ``work(backend)`` on the worker's thread and wait for its result."""
        return self.submit(work).result()

    def register(self, origin: str, columns: list[str]) -> Future[None]:
        return self.submit(lambda backend: backend.register(origin, columns))

    def append(self, batch: Batch) -> Future[None]:
        """Store ``batch`` (durable when the future is done), timed and counted."""
        return self.submit(lambda backend: self._append(backend, batch))

    def _append(self, backend: Backend, batch: Batch) -> None:
        started = time.perf_counter()
        try:
            store_table(backend, batch.origin, batch.table())
        except Exception as exc:
            self.stats.failed(exc)
            raise
        self.stats.stored(batch.count, time.perf_counter() - started)

    def registrations(self) -> dict[str, list[str]]:
        return self.call(lambda b: {origin: b.columns(origin) for origin in b.origins()})

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        return self.call(lambda backend: backend.latest(origin, name))

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        return self.call(lambda backend: backend.range(origin, names, since, until, limit))

    def describe(self) -> dict[str, Any]:
        return self.stats.describe()

    def close(self) -> None:
        """Close the backend (on its thread) and end the thread; idempotent."""
        try:
            self.call(lambda backend: backend.close())
        except RuntimeError:  # already shut down
            return
        except Exception:
            log.exception("closing the %s backend failed", self.kind)
        self._executor.shutdown()


def when_all(futures: Sequence[Future[Any] | None], then: Callable[[], None]) -> None:
    """Call ``then`` once every future (None: none there) is done, on the thread of the last."""
    pending = [future for future in futures if future is not None]
    if not pending:
        then()
        return
    left = [len(pending)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            then()

    for future in pending:
        future.add_done_callback(one_done)
