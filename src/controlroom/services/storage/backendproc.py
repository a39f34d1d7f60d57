"""A storage backend in a process of its own, serving the storage manager over a socket pair.

``python -m controlroom.services.storage.backendproc FD`` serves requests on
the socket FD (one end of a socket pair; the storage manager holds the other:
:mod:`.procworker`), one at a time and in order, one reply each:

* ``["open", kind, options]``: open the backend (``open_backend``), first;
* ``["register", origin, columns]``, ``["registrations"]``;
* ``["append", origin, columns, rows]``: a batch as a table
  (`controlroom.storage.table`), and ``["append_packed", origin, columns,
  packed]``: the same with the rows as the msgpack bytes a sender sent, which
  only this process unpacks. Batches that are already waiting when one is
  taken are stored with it (``append_tables``: one transaction, one fsync per
  file), up to :data:`GROUP` of them, each still with its own reply: the
  backend keeps pace with many senders at the cost of one write;
* ``["latest", origin, name]``, ``["range", origin, names, since, until, limit]``:
  rows as ``[timestamp, setup_id, obsid, values]``;
* ``["close"]``: close the backend and end.

A reply is ``["ok", result, seconds]`` or ``["error", type, message, reason,
seconds]``: the time the request took here, and for an error the class name
of a `controlroom.storage` error and the ``reason`` of a
`BackendUnavailableError` (:func:`.procworker.rebuild` makes it again).

A thread reads requests as they come; the main thread serves them. The
process ends once the manager closes its end of the pair, or dies: it never
outlives the manager. It ignores SIGINT and SIGTERM, which reach it with
the manager's process group (Ctrl-C, a stop of the group): the batch it
writes is finished, and the manager closes it in order. SIGKILL still ends it.
"""

from __future__ import annotations

import logging
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from controlroom.services.storage.batch import store_tables, unpack_rows
from controlroom.services.storage.channel import Channel
from controlroom.storage import Backend, Row, StorageError, Table, open_backend

log = logging.getLogger("controlroom.services.storage.backend")

GROUP = 16
"""Batches written together at most."""
APPENDS = frozenset({"append", "append_packed"})
_END = object()  # what the reading thread hands on when the manager's end is closed

Handler = Callable[[Backend, Sequence[Any]], Any]


def encode_row(row: Row) -> list[Any]:
    """A row for a reply: ``[timestamp, setup_id, obsid, values]``."""
    return [row.timestamp, row.setup_id, row.obsid, dict(row.values)]


def table_of(op: str, args: Sequence[Any]) -> tuple[str, Table]:
    """The origin and table of an append request."""
    origin, columns, rows = args
    return origin, Table(columns, unpack_rows(rows) if op == "append_packed" else rows)


def _latest(backend: Backend, args: Sequence[Any]) -> list[Any] | None:
    row = backend.latest(*args)
    return None if row is None else encode_row(row)


def _range(backend: Backend, args: Sequence[Any]) -> list[list[Any]]:
    return [encode_row(row) for row in backend.range(*args)]


HANDLERS: dict[str, Handler] = {
    "register": lambda backend, args: backend.register(*args),
    "registrations": lambda backend, _: {o: backend.columns(o) for o in backend.origins()},
    "latest": _latest,
    "range": _range,
    "close": lambda backend, _: backend.close(),
}


def _error(exc: Exception) -> list[Any]:
    if not isinstance(exc, StorageError):
        log.exception("storage backend: a request failed", exc_info=exc)
    return ["error", type(exc).__name__, str(exc), getattr(exc, "reason", None), 0.0]


class BackendServer:
    """Serves one backend's requests from one channel, in order.

    A thread of its own reads the requests as they come (so the manager never
    waits to hand one over, and batches that come while one is written are
    all here to be written together); this one serves them.
    """

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.backend: Backend | None = None
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._next: Any = None  # taken while gathering a group, not served yet

    def serve(self) -> None:
        """Answer requests until ``close`` or until the manager's end is closed."""
        threading.Thread(target=self._read, name="requests", daemon=True).start()
        try:
            while (request := self._take()) is not _END:
                op = request[0] if isinstance(request, list) and request else None
                if op in APPENDS and self.backend is not None:
                    self._append([request, *self._waiting_appends()])
                    continue
                started = time.perf_counter()
                try:
                    reply = ["ok", self._handle(op, request[1:]), 0.0]
                except Exception as exc:  # every failure is an answer; the process goes on
                    reply = _error(exc)
                self._reply([reply], time.perf_counter() - started)
                if op == "close":
                    return
        except OSError:
            pass  # the manager is gone: nothing will take a reply
        if self.backend is not None:
            self.backend.close()

    def _read(self) -> None:
        try:
            while True:
                self._inbox.put(self.channel.receive())
        except (EOFError, OSError, ValueError):
            self._inbox.put(_END)  # the manager closed its end, or died

    def _take(self) -> Any:
        if self._next is not None:
            request, self._next = self._next, None
            return request
        return self._inbox.get()

    def _waiting_appends(self) -> list[list[Any]]:
        """The append requests already here behind the first (the next other one is kept)."""
        group: list[list[Any]] = []
        while len(group) < GROUP - 1 and self._next is None:
            try:
                request = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(request, list) and request and request[0] in APPENDS:
                group.append(request)
            else:
                self._next = request
        return group

    def _append(self, requests: list[list[Any]]) -> None:
        """Store the batches of ``requests`` together; a reply to each."""
        assert self.backend is not None
        started = time.perf_counter()
        replies: list[list[Any]] = [["ok", None, 0.0] for _ in requests]
        tables: list[tuple[int, tuple[str, Table]]] = []
        for i, request in enumerate(requests):
            try:
                tables.append((i, table_of(request[0], request[1:])))
            except Exception as exc:
                replies[i] = _error(exc)
        outcomes = store_tables(self.backend, [table for _, table in tables])
        for (i, _), outcome in zip(tables, outcomes, strict=True):
            if outcome is not None:
                replies[i] = _error(outcome)
        self._reply(replies, (time.perf_counter() - started) / len(requests))

    def _reply(self, replies: list[list[Any]], seconds: float) -> None:
        for reply in replies:
            reply[-1] = seconds
            self.channel.send(reply)

    def _handle(self, op: Any, args: Sequence[Any]) -> Any:
        if op == "open":
            kind, options = args
            self.backend = open_backend(kind, **options)
            return None
        if op in APPENDS:
            raise StorageError("the backend is not open")
        handler = HANDLERS.get(op) if isinstance(op, str) else None
        if handler is None:
            raise StorageError(f"a backend process has no request {op!r}")
        if self.backend is None:
            if op == "close":
                return None  # it never opened: nothing to close
            raise StorageError("the backend is not open")
        return handler(self.backend, args)


def main(argv: Sequence[str] = sys.argv) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    channel = Channel(socket.socket(fileno=int(argv[1])))
    try:
        BackendServer(channel).serve()
    finally:
        channel.close()


if __name__ == "__main__":
    main()
