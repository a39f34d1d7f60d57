"""Watch one status file and deliver each new content, parsed, to a callback.

:class:`StatusFileWatcher` watches the file's *directory* (watchdog), so it
sees a file created after start, an atomic replace (write a temporary file,
rename it over the status file), a deletion (delivered as ``state ==
"missing"``) and an in-place rewrite. Events are debounced:

* a change is read once the file has been quiet for ``settle_s``;
* an in-place write is read when its writer closes the file (on platforms
  that report closes), so a rewrite is not delivered half written;
* otherwise a pending change is read at most ``max_delay_s`` after its first
  event, so a file rewritten without pause still gets through;
* a change that reads blank (an editor or a busy writer that truncates, then
  writes) is held back up to ``empty_hold_s`` in case the write follows: a
  blank status is rarely meant, a flicker to blank on every change would be.

``on_change(content)`` runs on the watcher's own thread: first with the
content found at start (``sequence == 1``), then after each change of
content (same bytes again are not a change), with ``sequence`` counting up
by one each time. An exception in ``on_change`` is logged and the watcher
keeps going; bad content is delivered with ``state == "error"``. The format
is described in :mod:`controlroom.bridges.statuscontent`.

Given a ``root`` (the panel gives the data directory), every reading first
checks that the file still lies under it, symlinks followed: a file swapped
for a symlink pointing out is delivered as an ``error``, never read.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from controlroom.bridges.errors import StatusFileError
from controlroom.bridges.statuscontent import StatusContent, read_status
from controlroom.rpc.lifecycle import Startable

log = logging.getLogger(__name__)

OnChange = Callable[[StatusContent], None]
_WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileClosedEvent,
]
_STOP_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class _Timing:
    settle_s: float
    max_delay_s: float
    empty_hold_s: float


class _Pending:
    """Events seen since the last reading (guarded by the watcher's condition)."""

    def __init__(self) -> None:
        self.since: float | None = None  # first unread event, monotonic
        self.last = 0.0  # latest event
        self.writing = False  # modified and not yet closed
        self.held = False  # read empty mid-rewrite: wait for more or for empty_hold_s
        self.closes_seen = False  # this platform reports closes, so waiting for one is safe

    def note(self, event: FileSystemEvent, now: float) -> None:
        self.since = now if self.since is None else self.since
        self.last = now
        self.held = False
        if isinstance(event, FileClosedEvent):
            self.writing, self.closes_seen = False, True
        elif isinstance(event, FileModifiedEvent):
            self.writing = True
        else:
            self.writing = False

    def due_in(self, now: float, timing: _Timing) -> float | None:
        """Seconds until the pending change should be read (<= 0: now; None: nothing pending)."""
        if self.since is None:
            return None
        if self.held:
            return self.since + timing.empty_hold_s - now
        overdue = self.since + timing.max_delay_s - now
        if self.writing and self.closes_seen:
            return overdue
        return min(overdue, self.last + timing.settle_s - now)


class _Handler(FileSystemEventHandler):
    def __init__(self, path: str, note: Callable[[FileSystemEvent], None]) -> None:
        self._path = path
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = {os.fsdecode(event.src_path)}
        if isinstance(event, FileMovedEvent):  # replaced by a rename, or renamed away
            paths.add(os.fsdecode(event.dest_path))
        if self._path in paths:
            self._note(event)


class StatusFileWatcher(Startable):
    """Deliver every new content of the file at ``path`` to ``on_change``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. The
    directory must exist at start; the file need not.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: OnChange,
        *,
        settle_s: float = 0.002,
        max_delay_s: float = 0.05,
        empty_hold_s: float = 0.5,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        self._path = Path(os.path.abspath(path))
        self._root = None if root is None else Path(root)
        self._on_change = on_change
        self._timing = _Timing(settle_s, max_delay_s, empty_hold_s)
        self._cond = threading.Condition()
        self._pending = _Pending()
        self._stopping = False
        self._current: StatusContent | None = None
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def current(self) -> StatusContent:
        """The latest reading: what the page shows to a client that just connected."""
        if self._current is None:
            raise StatusFileError(f"the watcher of {self._path} has not been started")
        return self._current

    def start(self) -> StatusFileWatcher:
        if self._thread is not None:
            raise StatusFileError(f"the watcher of {self._path} is already started")
        directory = self._path.parent
        if not directory.is_dir():
            raise StatusFileError(f"cannot watch {self._path}: {directory} is not a directory")
        observer = Observer()
        handler = _Handler(str(self._path), self._note)
        try:
            observer.schedule(handler, str(directory), event_filter=_WATCHED_EVENTS)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit is reached
            raise StatusFileError(f"cannot watch {directory}: {exc}") from exc
        self._observer = observer
        self._pending, self._stopping = _Pending(), False  # a stopped watcher may start again
        # Read after the watch is in place, so no change falls between the two.
        self._current = self._read(sequence=1)
        self._thread = threading.Thread(
            target=self._run, name=f"statusfile:{self._path.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; no ``on_change`` call starts after this returns. Idempotent."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT_S)
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(_STOP_TIMEOUT_S)

    def _note(self, event: FileSystemEvent) -> None:
        with self._cond:
            self._pending.note(event, time.monotonic())
            self._cond.notify_all()

    def _run(self) -> None:
        self._deliver(self.current)
        while (reading := self._next_reading()) is not None:
            if not reading.same_content(self._current):
                assert self._current is not None
                sequence = self._current.sequence + 1
                self._current = dataclasses.replace(reading, sequence=sequence)
                self._deliver(self._current)

    def _next_reading(self) -> StatusContent | None:
        """Wait until a pending change is due, then read it; None once stopping."""
        while True:
            with self._cond:
                while not self._stopping:
                    wait = self._pending.due_in(time.monotonic(), self._timing)
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    return None
                since = self._pending.since
                # Cleared before reading: an event during the read makes a new pending change.
                self._pending.since = None
            reading = self._read()
            if not self._looks_mid_rewrite(reading, since):
                return reading

    def _read(self, sequence: int = 0) -> StatusContent:
        return read_status(self._path, sequence, root=self._root)

    def _looks_mid_rewrite(self, reading: StatusContent, since: float | None) -> bool:
        """A blank file right after a change is likely truncated and not yet written.

        Judged by the file, not by the events seen so far: those lag the writer.
        """
        if not (reading.state == "ok" and reading.text == "" and since is not None):
            return False
        if time.monotonic() - since >= self._timing.empty_hold_s:
            return False
        with self._cond:
            if self._pending.since is None:  # nothing new arrived while reading
                self._pending.since, self._pending.held = since, True
            else:
                self._pending.since = min(since, self._pending.since)
        return True

    def _deliver(self, content: StatusContent) -> None:
        try:
            self._on_change(content)
        except Exception:
            # The callback is the caller's code; its failure must not end the watching.
            log.exception("on_change failed for %s (sequence %d)", self._path, content.sequence)
