"""The output of a task run: a bounded stream of lines that pages follow while it grows.

What a task prints (``sys.stdout`` and ``sys.stderr`` of its thread) and the
log records emitted on its thread become numbered :class:`OutputLine` s in the
run's :class:`OutputStream`. A reader polls with :meth:`OutputStream.read`
(``after`` the last number it has), is woken by :meth:`OutputStream.subscribe`
(a callback from the writing thread), or, in asyncio code, iterates
:meth:`OutputStream.follow`.

Capturing works per thread: :func:`capture_thread` routes one thread's
writes, and a :class:`ThreadRoutedStream` installed once as ``sys.stdout`` /
``sys.stderr`` sends every other thread's output where it went before
(``contextlib.redirect_stdout`` would take the whole process's output).
Threads a task starts itself print to the process's output, not the run's.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

MAX_LINE = 10_000  # characters; a longer line (a print without newline) is split


@dataclass(frozen=True)
class OutputLine:
    """One line of a run's output; ``seq`` counts from 1 in the run."""

    seq: int
    time: float
    stream: str  # "stdout", "stderr", "log" or "runner" (what the task runner says)
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "stream": self.stream, "text": self.text}


@dataclass(frozen=True)
class OutputChunk:
    """Lines after a given number; ``missed`` were dropped from the bounded buffer first."""

    lines: list[OutputLine]
    next: int  # pass as ``after`` to the next read
    missed: int
    closed: bool  # the run ended: no line will follow these


class OutputStream:
    """The lines of one run, the newest ``limit`` kept; readers poll, subscribe or follow."""

    def __init__(self, limit: int = 5000) -> None:
        self._lines: collections.deque[OutputLine] = collections.deque(maxlen=limit)
        self._seq = 0
        self._closed = False
        self._partial: dict[str, str] = {}
        self._subscribers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def write(self, stream: str, text: str) -> None:
        """Add ``text``; complete lines become :class:`OutputLine` s, the rest waits for more."""
        with self._lock:
            pending = self._partial.pop(stream, "") + text
            *complete, rest = pending.split("\n")
            while len(rest) > MAX_LINE:
                complete.append(rest[:MAX_LINE])
                rest = rest[MAX_LINE:]
            if rest:
                self._partial[stream] = rest
            for line in complete:
                self._append(stream, line)
        if complete:
            self._wake()

    def line(self, stream: str, text: str) -> None:
        """Add ``text`` as whole lines (a log record, a message of the runner)."""
        self.write(stream, text if text.endswith("\n") else text + "\n")

    def flush(self) -> None:
        """Make lines of what was written without a final newline."""
        with self._lock:
            added = self._flush()
        if added:
            self._wake()

    def close(self) -> None:
        """End the stream (pending partial lines become lines); readers are told."""
        with self._lock:
            self._flush()
            self._closed = True
        self._wake()

    def _flush(self) -> bool:
        added = bool(self._partial)
        for stream, rest in self._partial.items():
            self._append(stream, rest)
        self._partial.clear()
        return added

    def _append(self, stream: str, text: str) -> None:
        self._seq += 1
        self._lines.append(OutputLine(self._seq, time.time(), stream, text.rstrip("\r")))

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, after: int = 0) -> OutputChunk:
        """The lines numbered above ``after`` still in the buffer."""
        with self._lock:
            first = self._lines[0].seq if self._lines else self._seq + 1
            lines = [line for line in self._lines if line.seq > after]
            return OutputChunk(lines, self._seq, max(0, first - after - 1), self._closed)

    def subscribe(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake()`` (on the writing thread) whenever lines arrive or the run ends.

        Returns the function that unsubscribes. ``wake`` must be quick and must
        not raise; one that raises is dropped.
        """
        with self._lock:
            self._subscribers.append(wake)
        return lambda: self._unsubscribe(wake)

    def _unsubscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._subscribers:
                self._subscribers.remove(wake)

    def _wake(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for wake in subscribers:
            try:
                wake()
            except Exception:  # a page that went away must not stop the task
                self._unsubscribe(wake)

    async def follow(self, after: int = 0) -> AsyncIterator[OutputLine]:
        """Every line above ``after``, as it arrives, until the run ends (asyncio)."""
        loop = asyncio.get_running_loop()
        news: asyncio.Queue[None] = asyncio.Queue()

        def wake() -> None:
            loop.call_soon_threadsafe(news.put_nowait, None)

        unsubscribe = self.subscribe(wake)
        try:
            while True:
                chunk = self.read(after)
                for line in chunk.lines:
                    yield line
                after = chunk.next
                if chunk.closed:
                    return
                await news.get()
        finally:
            unsubscribe()


class ThreadRoutedStream:
    """A ``sys.stdout`` stand-in: writes of captured threads go to their run, others pass."""

    def __init__(self, kind: str, fallback: TextIO | None) -> None:
        self.kind = kind
        self.fallback = fallback

    def write(self, text: str) -> int:
        target = _routes.get(threading.get_ident())
        if target is not None:
            target.write(self.kind, text)
        elif self.fallback is not None:
            self.fallback.write(text)
        return len(text)

    def flush(self) -> None:
        if self.fallback is not None and threading.get_ident() not in _routes:
            self.fallback.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ... of the real stream
        return getattr(self.fallback, name)


class _RunLogHandler(logging.Handler):
    """Log records emitted on a captured thread, as lines of that thread's run."""

    def emit(self, record: logging.LogRecord) -> None:
        target = _routes.get(record.thread or 0)
        if target is None:
            return
        try:
            target.line("log", self.format(record))
        except Exception:
            self.handleError(record)


_routes: dict[int, OutputStream] = {}
_install_lock = threading.Lock()
_log_handler = _RunLogHandler()
_log_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


def install() -> None:
    """Route ``sys.stdout``/``sys.stderr`` by thread and catch log records; idempotent."""
    with _install_lock:
        # Checked at every run: a test harness may have swapped the streams since.
        if not isinstance(sys.stdout, ThreadRoutedStream):
            sys.stdout = ThreadRoutedStream("stdout", sys.stdout)
        if not isinstance(sys.stderr, ThreadRoutedStream):
            sys.stderr = ThreadRoutedStream("stderr", sys.stderr)
        root = logging.getLogger()
        if _log_handler not in root.handlers:
            root.addHandler(_log_handler)


@contextmanager
def capture_thread(output: OutputStream) -> Iterator[None]:
    """Send this thread's prints and log records to ``output`` for the ``with`` body."""
    install()
    ident = threading.get_ident()
    _routes[ident] = output
    try:
        yield
    finally:
        _routes.pop(ident, None)
