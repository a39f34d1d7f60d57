"""A logging handler that sends every record to the log manager over ZeroMQ.

``emit`` never blocks and never touches the network: it turns the record into
plain data (message formatted, exception text rendered, obsid asked for) and
appends it to a bounded buffer. A background thread owns a PUSH socket and
sends what is buffered whenever the log manager is reachable. While it is
not, the buffer keeps the newest ``buffer`` records; older ones are counted in
``dropped``, and once the log manager is back a WARNING record says how many.

Records travel as one msgpack map each (``controlroom.wire.pack``), never
pickled. A record already handed to ZeroMQ when the log manager dies is lost:
logs are best effort; housekeeping is what the storage manager acknowledges.
"""

from __future__ import annotations

import collections
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, Unpack

import zmq

from controlroom import wire
from controlroom.rpc import curve
from controlroom.rpc.threads import PROCESS
from controlroom.wire.codec import Frame

ObsidProvider = Callable[[], str | None]

DEFAULT_BUFFER = 1000
_BATCH = 256  # records sent per turn of the sender loop
_RETRY_MS = 100  # how long the sender waits for the log manager before looking again
_IDLE_S = 0.5  # how long an idle sender sleeps when nobody logs
_CLOSE_S = 0.5  # how long close() lets the sender deliver what is left
_formatter = logging.Formatter()  # renders exception text and stack info only


class HandlerOptions(TypedDict, total=False):
    """The keyword arguments of :class:`LogHandler` that :func:`install_log_handler` passes on."""

    level: int | str
    buffer: int
    process: str | None
    obsid: ObsidProvider | None


class LogHandler(logging.Handler):
    """Send records to the log manager's records endpoint (a PULL socket)."""

    def __init__(
        self,
        endpoint: str,
        *,
        server: str,
        level: int | str = logging.INFO,
        buffer: int = DEFAULT_BUFFER,
        process: str | None = None,
        obsid: ObsidProvider | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if buffer < 1:
            raise ValueError(f"the buffer must hold at least one record, not {buffer}")
        super().__init__(level)
        self.endpoint = endpoint
        self.capacity = buffer
        self.sent = 0  # records handed to ZeroMQ
        self.dropped = 0  # records lost to a full buffer (or that could not be encoded)
        host = socket.gethostname()
        self._fields = {"process": process or _program(), "host": host, "server": server}
        self._obsid = obsid
        self._buffer: collections.deque[dict[str, Any]] = collections.deque()
        self._reported = 0  # drops already announced to the log manager
        self._changed = threading.Condition()  # guards the buffer and the counters
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._context = context or zmq.Context.instance()
        # A process-wide thread: every control server of the process lists it.
        self._thread = PROCESS.thread("log-sender", self._run, stop=self._stopping)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records buffered, not yet handed to ZeroMQ."""
        return len(self._buffer)

    def emit(self, record: logging.LogRecord) -> None:
        """Buffer ``record`` as plain data; the oldest buffered record gives way when full."""
        try:
            data = self.as_data(record)
        except Exception:  # a bad format string: logging's own report, never a raise
            self.handleError(record)
            return
        with self._changed:
            if len(self._buffer) >= self.capacity:
                self._buffer.popleft()
                self.dropped += 1
            self._buffer.append(data)
        if not self._wake.is_set():
            self._wake.set()

    def as_data(self, record: logging.LogRecord) -> dict[str, Any]:
        """The record as the plain map the log manager stores."""
        return {
            "time": record.created,
            "level": record.levelname,
            "levelno": record.levelno,
            **self._fields,
            "pid": record.process,
            "obsid": self._current_obsid(),
            "logger": record.name,
            "message": record.getMessage(),
            "exception": _exception_text(record),
        }

    def _current_obsid(self) -> str | None:
        if self._obsid is None:
            return None
        try:
            obsid = self._obsid()
        except Exception:  # the provider is someone else's code: a log call must not fail
            return None
        return None if obsid is None else str(obsid)

    def flush(self) -> None:
        """Ask the sender to send now; returns at once (:meth:`drain` waits)."""
        self._wake.set()

    def drain(self, timeout: float) -> bool:
        """Wait until every buffered record was handed to ZeroMQ; False on timeout."""
        self._wake.set()
        with self._changed:
            return self._changed.wait_for(lambda: not self._buffer, timeout)

    def close(self) -> None:
        """Stop the sender after a last short attempt to deliver; idempotent."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(_CLOSE_S + 1.0)
        PROCESS.forget(self._thread)
        super().close()

    # -- sender thread (the only user of the socket) ------------------------------

    def _run(self) -> None:
        push = curve.client_socket(self._context, zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        # Queue nothing for a log manager that is not connected: records wait in our
        # bounded buffer instead, where the newest win and drops are counted.
        push.setsockopt(zmq.IMMEDIATE, 1)
        push.setsockopt(zmq.SNDHWM, _BATCH * 4)
        try:
            push.connect(self.endpoint)
            self._serve(push)
            self._last_flush(push)
        finally:
            push.close(linger=int(_CLOSE_S * 1000))

    def _serve(self, push: zmq.Socket[bytes]) -> None:
        while not self._stopping.is_set():
            if not self._buffer:
                self._wake.wait(_IDLE_S)
                self._wake.clear()
            elif push.poll(_RETRY_MS, zmq.POLLOUT):  # a log manager is connected
                self._send_batch(push)

    def _last_flush(self, push: zmq.Socket[bytes]) -> None:
        deadline = time.monotonic() + _CLOSE_S
        while self._buffer and time.monotonic() < deadline and push.poll(50, zmq.POLLOUT):
            self._send_batch(push)

    def _send_batch(self, push: zmq.Socket[bytes]) -> None:
        if self.dropped > self._reported and not self._send_drop_notice(push):
            return
        with self._changed:
            batch = [self._buffer.popleft() for _ in range(min(_BATCH, len(self._buffer)))]
        for index, data in enumerate(batch):
            try:
                frames = wire.pack(data)
            except wire.EncodeError:  # a provider returned something odd; never seen on the wire
                with self._changed:
                    self.dropped += 1
                continue
            if not _send(push, frames):
                self._requeue(batch[index:])
                return
            self.sent += 1
        with self._changed:
            self._changed.notify_all()

    def _send_drop_notice(self, push: zmq.Socket[bytes]) -> bool:
        dropped = self.dropped
        text = "%d log records dropped: the log manager was unreachable and the buffer keeps %d"
        args = (dropped - self._reported, self.capacity)
        notice = logging.LogRecord(__name__, logging.WARNING, __file__, 0, text, args, None)
        if not _send(push, wire.pack(self.as_data(notice))):
            return False
        self._reported = dropped
        return True

    def _requeue(self, unsent: list[dict[str, Any]]) -> None:
        """Put back what ZeroMQ refused, in front; the oldest go if the buffer filled meanwhile."""
        with self._changed:
            room = max(0, self.capacity - len(self._buffer))
            keep = unsent[len(unsent) - room :] if room else []
            self.dropped += len(unsent) - len(keep)
            self._buffer.extendleft(reversed(keep))


def _send(push: zmq.Socket[bytes], frames: list[Frame]) -> bool:
    try:
        push.send_multipart(frames, zmq.NOBLOCK)
    except zmq.Again:  # the log manager went away (or its queue is full)
        return False
    return True


def _program() -> str:
    """``controlroom`` for the console script, the module's name for ``python -m``."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return str(spec.name).removesuffix(".__main__")
    return Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"


def _exception_text(record: logging.LogRecord) -> str | None:
    parts = []
    if record.exc_info:
        parts.append(record.exc_text or _formatter.formatException(record.exc_info))
    if record.stack_info:
        parts.append(_formatter.formatStack(record.stack_info))
    return "\n".join(parts) or None


def install_log_handler(
    endpoint: str,
    *,
    server: str,
    logger: logging.Logger | None = None,
    **options: Unpack[HandlerOptions],
) -> LogHandler:
    """Send the records of ``logger`` (default: the root logger) to the log manager.

    ``options`` are those of :class:`LogHandler`. A :class:`LogHandler`
    installed earlier on the same logger is closed and replaced, so calling
    this twice does not log everything twice. The logger's level is lowered to
    the handler's ``level`` if it was higher, or records at that level would
    never reach the handler.
    """
    target = logger or logging.getLogger()
    for old in [h for h in target.handlers if isinstance(h, LogHandler)]:
        target.removeHandler(old)
        old.close()
    handler = LogHandler(endpoint, server=server, **options)
    target.addHandler(handler)
    if target.getEffectiveLevel() > handler.level:
        target.setLevel(handler.level)
    return handler
