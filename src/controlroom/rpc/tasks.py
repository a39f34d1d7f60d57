"""Scheduled tasks: a control server runs a callback later, once a condition holds, or repeatedly.

Each :class:`~controlroom.rpc.ControlServer` has a :class:`TaskScheduler`, ``server.tasks``::

    handle = server.tasks.schedule(fetch_setup, name="fetch new Setup")
    server.tasks.schedule(save, every_s=60.0)
    server.tasks.schedule(arm, when=lambda: cryostat.pressure() < 1e-5, timeout_s=3600)
    handle.cancel()

Callbacks run on the scheduler's own thread, never on the command loop nor on
the events thread, so a callback may call back into any server, including the
one whose event is being handled (the usual case: fetching the new Setup from
the configuration manager after its ``new_setup`` event). The tasks share that
thread: long work belongs on a thread of its own.

* ``after_s`` delays the first run; ``when()`` is then polled every
  ``poll_s`` until true; ``timeout_s`` gives up waiting for it.
* ``every_s`` repeats the task, each period from the start of the previous
  run (an overrun is followed by one run at once, never a burst of missed
  ones); each period waits for ``when()`` again.
* A callback or condition that raises is logged and counted as a failure; a
  repeating task carries on with its next period, a one-shot task ends.
* Tasks and counters are listed in the server's ``info`` under ``tasks``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from controlroom.rpc.errors import RpcError
from controlroom.rpc.threads import Supervisor

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often a condition is evaluated while a task waits for it
KEEP_FINISHED = 20  # finished tasks still listed in info
_IDLE_S = 1.0  # longest sleep: the thread looks at the stop flag this often at least

State = Literal["waiting", "running", "done", "failed", "timed_out", "cancelled"]
_LISTED = ("name", "state", "every_s", "runs", "failures", "timeouts", "last_run", "last_error")


class TaskError(RpcError):
    """A task cannot be scheduled: the scheduler has stopped."""


@dataclass(eq=False)
class TaskHandle:
    """One scheduled task: its settings, its state and its counters."""

    name: str
    callback: Callable[[], object]
    when: Callable[[], object] | None
    every_s: float | None
    timeout_s: float | None
    due: float  # time.monotonic() at which the task runs, or evaluates its condition, next
    waiting_since: float  # when the current wait for the condition began (for timeout_s)
    scheduler: TaskScheduler = field(repr=False)
    state: State = "waiting"
    runs: int = 0
    failures: int = 0
    timeouts: int = 0
    last_error: str | None = None
    last_run: float | None = None  # seconds since the epoch
    cancel_requested: bool = False
    finished_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> bool:
        """Stop the task (a run in progress finishes first); False if it had finished."""
        return self.scheduler.cancel(self)

    @property
    def finished(self) -> bool:
        return self.finished_event.is_set()

    def is_waiting(self) -> bool:
        return self.state == "waiting"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the task has finished; False if ``timeout`` passed first."""
        return self.finished_event.wait(timeout)

    def describe(self) -> dict[str, Any]:
        """The task as plain data, for ``info``."""
        listed = {key: getattr(self, key) for key in _LISTED}
        next_in_s = max(0.0, self.due - time.monotonic()) if self.is_waiting() else None
        return {**listed, "condition": self.when is not None, "next_in_s": next_in_s}


class TaskScheduler:
    """Runs the scheduled tasks of server ``owner`` on one thread; lists them in ``info``."""

    def __init__(
        self,
        owner: str,
        info: dict[str, Any] | None = None,
        *,
        poll_s: float = POLL_S,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.owner = owner
        self.poll_s = poll_s
        self.runs = 0
        self.failures = 0
        self._info = info if info is not None else {}
        self._tasks: list[TaskHandle] = []
        self._finished: collections.deque[TaskHandle] = collections.deque(maxlen=KEEP_FINISHED)
        self._wake = threading.Condition()
        self._halt = threading.Event()
        supervisor = supervisor or Supervisor(owner)
        self._thread = supervisor.thread("tasks", self._run, stop=self._halt)
        self._publish()

    def schedule(
        self,
        callback: Callable[[], object],
        *,
        after_s: float = 0.0,
        when: Callable[[], object] | None = None,
        every_s: float | None = None,
        timeout_s: float | None = None,
        name: str | None = None,
    ) -> TaskHandle:
        """Run ``callback()`` after ``after_s`` and once ``when()`` is true, every ``every_s``."""
        _check(callback, when, after_s, every_s, timeout_s)
        label = name or getattr(callback, "__qualname__", None) or repr(callback)
        start = time.monotonic() + after_s
        handle = TaskHandle(label, callback, when, every_s, timeout_s, start, start, self)
        with self._wake:
            if self._halt.is_set():
                raise TaskError(f"{self.owner}: tasks have stopped; {label} refused")
            self._tasks.append(handle)
            self._wake.notify()
        self._publish()
        return handle

    def cancel(self, handle: TaskHandle) -> bool:
        """Cancel ``handle``; a run in progress finishes but is not repeated."""
        with self._wake:
            if handle.finished or handle.cancel_requested:
                return False
            handle.cancel_requested = True
            if handle.is_waiting():  # a running one is finished when its run ends
                self._finish(handle, "cancelled")
        self._publish()
        return True

    def describe(self) -> dict[str, Any]:
        """Counters and every task (the last finished ones too), as plain data."""
        with self._wake:
            listed = [handle.describe() for handle in (*self._tasks, *self._finished)]
        return {"runs": self.runs, "failures": self.failures, "tasks": listed}

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every task and end the thread (after the run in progress, if any)."""
        with self._wake:
            self._halt.set()
            for handle in [h for h in self._tasks if h.is_waiting()]:
                self._finish(handle, "cancelled")
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive() and not self._thread.is_current():
                log.warning("%s: a task is still running after %g s", self.owner, timeout)
        self._publish()

    def _run(self) -> None:
        while not self._halt.is_set():
            with self._wake:
                now = time.monotonic()
                due = [h for h in self._tasks if h.is_waiting() and h.due <= now]
                if not due:
                    upcoming = [h.due - now for h in self._tasks if h.is_waiting()]
                    self._wake.wait(max(0.0, min([_IDLE_S, *upcoming])))
            for handle in due:
                if not self._halt.is_set():
                    self._attempt(handle)

    def _attempt(self, handle: TaskHandle) -> None:
        """Evaluate the condition of a due task and run the task if it holds."""
        started = time.monotonic()
        ran = ok = False
        if not handle.is_waiting():
            return  # cancelled since the due list was made
        try:
            if handle.when is not None and not handle.when():
                self._not_yet(handle, started)
                return
            with self._wake:
                if not handle.is_waiting():
                    return  # cancelled while its condition was evaluated
                handle.state, handle.last_run = "running", time.time()
            self._publish()
            ran = True
            handle.callback()
            ok = True
        except Exception as exc:
            handle.failures += 1
            self.failures += 1
            handle.last_error = f"{type(exc).__name__}: {exc}"
            log.error("%s: task %s failed", self.owner, handle.name, exc_info=exc)
        finally:
            if ran:
                handle.runs += 1
                self.runs += 1
        self._after_attempt(handle, started, "done" if ok else "failed")

    def _not_yet(self, handle: TaskHandle, now: float) -> None:
        if handle.timeout_s is None or now - handle.waiting_since < handle.timeout_s:
            handle.due = now + self.poll_s
            self._publish()
            return
        handle.timeouts += 1
        log.warning("%s: %s: condition false for %g s", self.owner, handle.name, handle.timeout_s)
        self._after_attempt(handle, now, "timed_out")

    def _after_attempt(self, handle: TaskHandle, started: float, outcome: State) -> None:
        """Plan the next period of a repeating task, or finish the task with ``outcome``."""
        with self._wake:
            if handle.cancel_requested or self._halt.is_set():
                self._finish(handle, "cancelled")
            elif handle.every_s is not None:
                handle.state = "waiting"
                handle.due = handle.waiting_since = max(started + handle.every_s, time.monotonic())
            else:
                self._finish(handle, outcome)
        self._publish()

    def _finish(self, handle: TaskHandle, state: State) -> None:
        """Move ``handle`` to the finished tasks; the caller holds the lock."""
        handle.state = state
        if handle in self._tasks:
            self._tasks.remove(handle)
            self._finished.append(handle)
        handle.finished_event.set()

    def _publish(self) -> None:
        # A new dict each time: ``info`` may be encoding the previous one on another thread.
        self._info["tasks"] = self.describe()


def _check(
    callback: object, when: object, after_s: float, every_s: float | None, timeout_s: float | None
) -> None:
    if not callable(callback) or (when is not None and not callable(when)):
        raise TypeError("a task needs a callable callback (and a callable condition, if any)")
    if not after_s >= 0:
        raise ValueError(f"after_s must be zero or more seconds, not {after_s!r}")
    for label, value in (("every_s", every_s), ("timeout_s", timeout_s)):
        if value is not None and not value > 0:
            raise ValueError(f"{label} must be a positive number of seconds, not {value!r}")
