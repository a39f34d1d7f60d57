"""The records socket: a PULL socket every process's log handler pushes to.

One thread owns it. It takes whatever has arrived (up to a batch), checks
each message, writes the good ones to the store in one go and hands each to
``publish`` for followers. A message that is not a record -- random bytes,
several frames, msgpack of the wrong shape, a frame over the size limit --
is counted in ``malformed`` and skipped; the thread keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from controlroom import wire
from controlroom.rpc import curve
from controlroom.rpc.endpoints import bind, connectable
from controlroom.rpc.errors import InsecureServer
from controlroom.services.logs.errors import MalformedRecord
from controlroom.services.logs.records import normalise
from controlroom.services.logs.store import LogStore

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]
MAX_RECORD_BYTES = 1024 * 1024  # ZeroMQ drops a larger frame (and its sender's connection)
_BATCH = 1000  # records written (and flushed) together
_POLL_MS = 100  # how often an idle thread looks at the stop flag


def _nowhere(record: dict[str, Any]) -> None:
    """Where records go when nobody follows."""


class Receiver:
    """Receives records on ``endpoint`` and writes them to ``store``."""

    def __init__(
        self,
        endpoint: str,
        store: LogStore,
        *,
        publish: Publish = _nowhere,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.store = store
        self.publish = publish
        self.received = 0
        self.malformed = 0
        self.write_failures = 0
        self._context = context or zmq.Context.instance()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Bind and start receiving; returns the endpoint clients connect to."""
        # Bound here, in the caller's thread, so a bad or busy endpoint fails the caller.
        pull = curve.server_socket(self._context, zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        pull.setsockopt(zmq.MAXMSGSIZE, MAX_RECORD_BYTES)
        pull.setsockopt(zmq.RCVHWM, 10 * _BATCH)
        try:
            self.endpoint = connectable(bind(pull, self.endpoint))
        except (zmq.ZMQError, InsecureServer):
            pull.close(linger=0)
            raise
        self._thread = threading.Thread(
            target=self._run, args=(pull,), name="logman-records", daemon=True
        )
        self._thread.start()
        return self.endpoint

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, pull: zmq.Socket[bytes]) -> None:
        try:
            while not self._stopping.is_set():
                if pull.poll(_POLL_MS, zmq.POLLIN):
                    self._take(pull)
        finally:
            pull.close(linger=0)

    def _take(self, pull: zmq.Socket[bytes]) -> None:
        batch = []
        received = time.time()
        for _ in range(_BATCH):
            try:
                frames = pull.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            record = self._record(frames, received)
            if record is not None:
                batch.append(record)
        self._write(batch)
        for record in batch:
            self.publish(record)

    def _record(self, frames: list[bytes], received: float) -> dict[str, Any] | None:
        try:
            if len(frames) != 1:
                raise MalformedRecord(f"a record is one frame, not {len(frames)}")
            record = normalise(wire.unpack(frames), received)
        except (MalformedRecord, wire.WireError) as exc:
            self.malformed += 1
            log.debug("malformed record ignored: %s", exc)
            return None
        self.received += 1
        return record

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.store.write(batch)
        except OSError as exc:  # a full disk: keep serving, say so, count the loss
            self.write_failures += len(batch)
            log.error("cannot write %d log records: %s", len(batch), exc)
