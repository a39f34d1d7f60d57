"""Supervised background threads: a crash is reported, counted, and the loop restarted.

A control server does its work on threads of its own (command loop, standby,
publisher, event delivery, event handlers, tasks), and the log handler sends
from one more. An exception escaping one of those loops would end its thread
while the server kept answering ``ping``. A :class:`SupervisedThread` runs its
loop function, and when it raises (or returns while no stop was asked for):

* logs the crash with its traceback and counts it;
* tells the crash observers (a control server publishes ``thread_died``);
* runs the loop again, on the same thread, after a delay that doubles with
  each crash in a row (a run that lasted ``stable_after_s`` resets the count);
* gives up after ``max_restarts`` crashes in a row: the thread is then *dead*
  and :meth:`Supervisor.check` raises :class:`ThreadDied`, which is what
  ``ping`` answers instead of ``pong``.

The restart happens on the same thread so that a loop owning a ZeroMQ socket
keeps using it from the thread that made it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from controlroom.rpc.errors import RpcError

log = logging.getLogger(__name__)

State = Literal["new", "running", "restarting", "dead", "stopped"]
THREAD_DIED = "thread_died"  # the event a control server publishes for each crash


class ThreadDied(RpcError):
    """A background thread crashed too often in a row and was not restarted."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How long to wait before a restart, and when to stop trying."""

    first_delay_s: float = 0.1
    max_delay_s: float = 30.0
    max_restarts: int = 10  # crashes in a row before the thread is left dead
    stable_after_s: float = 60.0  # a run this long was healthy: the count starts over

    def delay_s(self, in_a_row: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** min(in_a_row - 1, 32)))


@dataclass(frozen=True, slots=True)
class Crash:
    """One crash of a supervised thread, as told to the crash observers."""

    owner: str
    thread: str
    error: str
    crashes: int  # since the thread started
    restarting: bool
    retry_in_s: float | None

    def as_event(self) -> dict[str, Any]:
        return asdict(self)


CrashObserver = Callable[[Crash], None]


class SupervisedThread:
    """A daemon thread that runs ``body`` until ``stop`` is set, restarting it after a crash."""

    def __init__(
        self,
        owner: str,
        role: str,
        body: Callable[[], None],
        *,
        stop: threading.Event,
        policy: RestartPolicy | None = None,
        observers: list[CrashObserver] | None = None,
    ) -> None:
        self.owner = owner
        self.role = role
        self.policy = policy or RestartPolicy()
        self.state: State = "new"
        self.crashes = 0
        self.restarts = 0
        self.last_error: str | None = None
        self.last_crash: float | None = None  # UTC seconds
        self._body = body
        self._stop = stop
        self._observers = observers if observers is not None else []
        self._thread = threading.Thread(target=self._supervise, name=f"{owner}-{role}", daemon=True)

    @property
    def dead(self) -> bool:
        return self.state == "dead"

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def is_current(self) -> bool:
        return self._thread is threading.current_thread()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end; returns at once when called from the thread itself."""
        if not self.is_current() and self._thread.is_alive():
            self._thread.join(timeout)

    def describe(self) -> dict[str, Any]:
        return {
            "alive": self.state == "running",
            "state": self.state,
            "restarts": self.restarts,
            "crashes": self.crashes,
            "last_error": self.last_error,
            "last_crash": self.last_crash,
        }

    def _supervise(self) -> None:
        in_a_row = 0
        try:
            while not self._stop.is_set():
                self.state = "running"
                started = time.monotonic()
                error = self._run_once()
                if self._stop.is_set():
                    break  # stopping: whatever the loop met on its way out is no crash
                in_a_row = (
                    1 if time.monotonic() - started >= self.policy.stable_after_s else in_a_row + 1
                )
                if not self._crashed(error, in_a_row):
                    return
                self.state = "restarting"
                if self._stop.wait(self.policy.delay_s(in_a_row)):
                    break
                self.restarts += 1
                log.info(
                    "%s: thread %s restarted (restart %d)", self.owner, self.role, self.restarts
                )
        finally:
            if self.state != "dead":
                self.state = "stopped"

    def _run_once(self) -> BaseException | None:
        """Run the loop; the exception that ended it, or None if it returned."""
        try:
            self._body()
        except Exception as exc:
            return exc
        return None

    def _crashed(self, error: BaseException | None, in_a_row: int) -> bool:
        """Record, log and announce a crash; True if the loop is to run again."""
        self.crashes += 1
        self.last_crash = time.time()
        self.last_error = _describe(error)
        restarting = in_a_row <= self.policy.max_restarts
        delay = self.policy.delay_s(in_a_row) if restarting else None
        if restarting:
            log.error(
                "%s: thread %s crashed (%s); restarting in %.1f s",
                self.owner,
                self.role,
                self.last_error,
                delay,
                exc_info=error,
            )
        else:
            self.state = "dead"
            log.critical(
                "%s: thread %s crashed %d times in a row (%s); not restarted",
                self.owner,
                self.role,
                in_a_row,
                self.last_error,
                exc_info=error,
            )
        crash = Crash(self.owner, self.role, self.last_error, self.crashes, restarting, delay)
        self._tell(crash)
        return restarting

    def _tell(self, crash: Crash) -> None:
        for observer in list(self._observers):
            try:
                observer(crash)
            except Exception:  # a broken observer must not stop the restart
                log.exception("%s: crash observer failed", self.owner)


class Supervisor:
    """The supervised threads of one owner (a control server, or the process)."""

    def __init__(self, owner: str, *, policy: RestartPolicy | None = None) -> None:
        self.owner = owner
        self.policy = policy or RestartPolicy()
        self.observers: list[CrashObserver] = []
        self._threads: dict[str, SupervisedThread] = {}
        self._lock = threading.Lock()

    def thread(
        self, role: str, body: Callable[[], None], *, stop: threading.Event
    ) -> SupervisedThread:
        """A new supervised thread (not started) running ``body`` until ``stop`` is set.

        A role already taken gets a numbered suffix, so each thread stays listed.
        """
        with self._lock:
            unique = next(
                name
                for name in itertools.chain([role], (f"{role}-{n}" for n in itertools.count(2)))
                if name not in self._threads
            )
            thread = SupervisedThread(
                self.owner, unique, body, stop=stop, policy=self.policy, observers=self.observers
            )
            self._threads[unique] = thread
        return thread

    def forget(self, thread: SupervisedThread) -> None:
        """Stop listing ``thread`` (it has been stopped for good)."""
        with self._lock:
            if self._threads.get(thread.role) is thread:
                del self._threads[thread.role]

    def describe(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            threads = list(self._threads.values())
        return {thread.role: thread.describe() for thread in threads}

    def dead(self) -> list[SupervisedThread]:
        with self._lock:
            return [thread for thread in self._threads.values() if thread.dead]

    def check(self) -> None:
        """Raise :class:`ThreadDied` if a thread crashed too often to be restarted."""
        dead = self.dead()
        if dead:
            which = "; ".join(f"{t.role} ({t.last_error})" for t in dead)
            raise ThreadDied(f"{self.owner}: not restarted after repeated crashes: {which}")


# Threads of the process rather than of one server (the log handler's sender):
# every control server in the process lists them and fails ping when one is dead.
PROCESS = Supervisor("process")


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "the loop returned although no stop was asked for"
    return f"{type(error).__name__}: {error}"
