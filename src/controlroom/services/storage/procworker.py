"""A backend in a process of its own (:mod:`.backendproc`), as a :class:`~.workers.Worker`.

The storage manager talks to the process over a socket pair: requests go out
in order, and a reader thread takes the replies, which come in the same order,
and completes the request's future. So the manager's command thread hands a
batch over and goes on serving while the backend process unpacks, checks and
writes it, on another core.

The process ends with the manager (it sees the end of the socket); when it
dies first, every request it owed fails as "not stored yet"
(`BackendUnavailableError`), the senders keep their rows, and the next request
starts a new process on the same backend. Its stderr is the manager's.
"""

from __future__ import annotations

import collections
import logging
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from controlroom import wire
from controlroom.rpc.child import module_argv
from controlroom.services.storage.batch import Batch
from controlroom.services.storage.channel import Channel
from controlroom.services.storage.workers import WorkerStats
from controlroom.storage import Row, errors

log = logging.getLogger(__name__)

CHILD = "controlroom.services.storage.backendproc"
CLOSE_TIMEOUT_S = 30.0  # a close waits for the batches before it, then for the exit
_ERRORS: dict[str, type[errors.StorageError]] = {
    cls.__name__: cls
    for cls in (
        errors.StorageError,
        errors.InvalidRowsError,
        errors.UnknownOriginError,
        errors.UnknownColumnError,
        errors.InvalidNameError,
        errors.ValueTypeError,
    )
}


def rebuild(kind: str, message: str, reason: str | None) -> errors.StorageError:
    """The storage error a backend process reported, as the same class here."""
    if kind == errors.BackendUnavailableError.__name__:
        return errors.BackendUnavailableError(message, reason or errors.OTHER)
    cls = _ERRORS.get(kind)
    return cls(message) if cls is not None else errors.StorageError(f"{kind}: {message}")


def decode_row(row: Sequence[Any]) -> Row:
    timestamp, setup_id, obsid, values = row
    return Row(timestamp, values, setup_id, obsid)


@dataclass
class _Link:
    """One backend process and the futures of the requests it still owes, oldest first."""

    process: subprocess.Popen[bytes]
    channel: Channel
    owed: collections.deque[tuple[Future[Any], int | None]] = field(
        default_factory=collections.deque
    )
    broken: bool = False
    guard: threading.Lock = field(default_factory=threading.Lock)  # owed and broken


class ProcessWorker:
    """The backend ``kind`` opened with ``options`` in a process of its own.

    With ``wait`` False the process is started but not waited for: call
    :meth:`wait_open` (several backends then start at the same time).
    """

    def __init__(self, kind: str, options: Mapping[str, Any], *, wait: bool = True) -> None:
        self.kind = kind
        self.options = dict(options)
        self.stats = WorkerStats()
        self._lock = threading.Lock()  # one sender at a time: requests stay in reply order
        self._closed = False
        self._link, self._opened = self._start()
        if wait:
            self.wait_open()

    def wait_open(self) -> None:
        """Wait until the backend is open; raise (and stop the process) if it cannot be."""
        try:
            self._opened.result()
        except BaseException:
            self.close()
            raise

    # -- requests ---------------------------------------------------------------------

    def register(self, origin: str, columns: list[str]) -> Future[None]:
        return self._request(["register", origin, columns])

    def append(self, batch: Batch) -> Future[None]:
        """Store ``batch``: packed as the sender sent it, else as a table."""
        if batch.packed is not None:
            message = ["append_packed", batch.origin, batch.columns, batch.packed]
        else:
            table = batch.table()
            message = ["append", batch.origin, list(table.columns), list(table.rows)]
        return self._request(message, rows=batch.count)

    def registrations(self) -> dict[str, list[str]]:
        return dict(self._request(["registrations"]).result())

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        found = self._request(["latest", origin, name]).result()
        return None if found is None else decode_row(found)

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        names = None if names is None else list(names)
        found = self._request(["range", origin, names, since, until, limit]).result()
        return [decode_row(row) for row in found]

    def describe(self) -> dict[str, Any]:
        return self.stats.describe()

    def close(self) -> None:
        """Close the backend (after the requests before), wait for the process to end."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            link = self._link
            closing = self._send(link, ["close"], None)
        try:
            closing.result(CLOSE_TIMEOUT_S)
        except Exception as exc:
            if not link.broken:
                log.warning("closing the %s backend process: %s", self.kind, exc)
        link.channel.close()
        try:
            link.process.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("the %s backend process did not end: killed", self.kind)
            link.process.kill()
            link.process.wait()

    def _request(self, message: list[Any], rows: int | None = None) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise errors.BackendUnavailableError(f"the {self.kind} backend is closed")
            if self._link.broken:
                log.warning("the %s backend process ended: starting it again", self.kind)
                self._link, opened = self._start()
                opened.add_done_callback(self._report_open)
            return self._send(self._link, message, rows)

    def _report_open(self, opened: Future[Any]) -> None:
        if opened.exception() is not None:
            log.error("the %s backend did not open again: %s", self.kind, opened.exception())

    def _send(self, link: _Link, message: list[Any], rows: int | None) -> Future[Any]:
        """Queue the reply's future, then send (called with the lock held)."""
        frames = wire.pack(message)  # before queueing: a message that cannot go owes nothing
        future: Future[Any] = Future()
        with link.guard:
            if link.broken:
                future.set_exception(self._gone(link, "it is not running"))
                return future
            link.owed.append((future, rows))
        try:
            link.channel.send_frames(frames)
        except OSError:
            link.broken = True  # the reader finds the end of the socket and fails what is owed
        return future

    # -- the process ------------------------------------------------------------------

    def _start(self) -> tuple[_Link, Future[Any]]:
        """Start a process, have it open the backend; the link and the open's future."""
        mine, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                module_argv(CHILD, str(theirs.fileno())),
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        link = _Link(process, Channel(mine))
        name = f"storage-{self.kind}-replies"
        threading.Thread(target=self._read, args=(link,), name=name, daemon=True).start()
        return link, self._send(link, ["open", self.kind, self.options], None)

    def _read(self, link: _Link) -> None:
        """Complete each owed future with its reply, in order, until the process ends."""
        while True:
            try:
                reply = link.channel.receive()
            except (EOFError, OSError, ValueError) as exc:
                self._broken(link, exc)
                return
            with link.guard:
                future, rows = link.owed.popleft()
            if reply[0] == "ok":
                if rows is not None:
                    self.stats.stored(rows, reply[2])
                future.set_result(reply[1])
                continue
            error = rebuild(reply[1], reply[2], reply[3])
            if rows is not None:
                self.stats.failed(error)
            future.set_exception(error)

    def _broken(self, link: _Link, exc: BaseException) -> None:
        """The process is gone: every request it owed is not done (not stored yet)."""
        with link.guard:
            link.broken = True
            owed = list(link.owed)
            link.owed.clear()
        if not self._closed and link.process.poll() is None:
            link.process.kill()  # out of step: it must not write beside the next one
            link.process.wait()
        problem = self._gone(link, str(exc))
        for future, _ in owed:
            future.set_exception(problem)

    def _gone(self, link: _Link, why: str) -> errors.BackendUnavailableError:
        code = link.process.poll()
        return errors.BackendUnavailableError(
            f"the {self.kind} backend process ended (exit code {code}): {why}", errors.OTHER
        )
