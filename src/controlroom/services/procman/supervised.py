"""One supervised process: a thread that starts it, watches it and restarts it with backoff.

States: ``stopped`` → ``starting`` → ``running``; when the process exits
without being asked to it goes to ``backoff`` and is started again after
``backoff_s`` (doubled at each crash in a row, up to ``backoff_max_s``); after
``max_restarts`` restarts in a row it is left ``failed``. A run that lasted
``stable_s`` ends the row. A process that does not print its ready line in
``ready_timeout_s`` counts as a crash: its group is killed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from controlroom.rpc.child import AdoptedRun, Child
from controlroom.rpc.factory import ProcessFactory
from controlroom.services.procman.adopt import Ledger
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.policy import Policy, State
from controlroom.services.procman.processspec import ProcessSpec, ReadyInfo

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]
Peers = Callable[[], Mapping[str, ReadyInfo]]


def _nowhere(event: str, data: dict[str, Any]) -> None:
    """Where events go when nobody listens."""


def _no_peers() -> Mapping[str, ReadyInfo]:
    return {}


class Supervised:
    """``spec``, run by a thread of its own from :meth:`start` until :meth:`stop`."""

    def __init__(
        self,
        spec: ProcessSpec,
        policy: Policy,
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        notify: Notify = _nowhere,
        peers: Peers = _no_peers,
        ledger: Ledger | None = None,
        factory: ProcessFactory | None = None,
    ) -> None:
        self.original = spec  # as derived from Settings and Setup, before any pin
        self.spec = spec
        self.policy = policy
        self.log_path = log_dir / f"{spec.name}.log"
        self.env = env
        self.notify = notify
        self.peers = peers
        self.ledger = ledger
        self.factory = factory  # forks our process from a preloaded parent when it can
        self.state = State.STOPPED
        self.restarts = 0
        self.exit_code: int | None = None
        self.last_stderr: list[str] = []
        self.started: float | None = None
        self.ready_info: ReadyInfo = {}
        self.command = list(spec.argv)
        self._child: Child | AdoptedRun | None = None
        self._adopted: AdoptedRun | None = None  # taken over from an earlier process manager
        self._crashes = 0
        self._attempts = 0  # runs that became ready or failed: what start(wait) waits for
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None else None

    def start(self, wait: bool = True) -> None:
        """Start unless already under way; with ``wait``, until ready or its first failure."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._crashes = 0
            self.state = State.STARTING
            target = self._attempts + 1
            self._thread = threading.Thread(target=self._run, name=f"procman-{self.name}")
            self._thread.daemon = True
            self._thread.start()
            if wait:
                limit = self.policy.ready_timeout_s + 2 * self.policy.stop_timeout_s + 1
                self._cond.wait_for(lambda: self._attempts >= target, limit)

    def adopt(self, run: AdoptedRun, entry: dict[str, Any]) -> None:
        """Take over ``run``, left running by an earlier process manager, as if we started it."""
        with self._cond:
            self._adopted = run
            self.restarts = int(entry.get("restarts") or 0)
            self.command = [str(arg) for arg in entry["argv"]]
        log.info("%s: adopted pid %d", self.name, run.pid)
        self.start(wait=True)

    def stop(self) -> None:
        """Stop the process (SIGTERM, grace, SIGKILL) and its thread; idempotent."""
        with self._cond:
            self._stopping.set()
            child, thread = self._child, self._thread
            self._cond.notify_all()
        if child is not None:
            child.terminate(self.policy.stop_timeout_s)
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.policy.stop_timeout_s * 2 + 1)
        with self._cond:
            self.state = State.STOPPED

    def describe(self) -> dict[str, Any]:
        """What ``list_processes`` reports about this process."""
        with self._cond:
            return {
                "name": self.name,
                "kind": self.spec.kind,
                "host": self.spec.host,
                "simulated": self.spec.simulated,
                "state": str(self.state),
                "pid": self.pid,
                "restarts": self.restarts,
                "exit_code": self.exit_code,
                "last_stderr": list(self.last_stderr),
                "started": self.started,
                "command": list(self.command),
                "endpoints": dict(self.ready_info),
                "log": str(self.log_path),
            }

    # -- the thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._attempt() and self._backoff():
                pass
        finally:
            with self._cond:
                if self.state != State.FAILED or self._stopping.is_set():
                    self.state = State.STOPPED
                self._attempts += 1
                self._cond.notify_all()

    def _attempt(self) -> bool:
        """One run, from spawn to exit; False once we are told to stop."""
        try:
            child = self._spawn()
        except (SpecError, OSError) as exc:
            log.warning("%s: cannot start: %s", self.name, exc)
            with self._cond:
                self.exit_code, self.last_stderr = None, [str(exc)]
            return not self._stopping.is_set()
        if child is None:
            return False
        info = child.read_ready(self.spec.parse_ready, self.policy.ready_timeout_s, self._stopping)
        if info is not None:
            self._ready(child, info)
        elif child.timed_out:
            log.warning("%s: no ready line in %g s; killed", self.name, self.policy.ready_timeout_s)
            child.terminate(self.policy.stop_timeout_s)
        elif self._stopping.is_set():
            child.terminate(self.policy.stop_timeout_s)
        self._exited(child, child.drain())
        return not self._stopping.is_set()

    def _spawn(self) -> Child | AdoptedRun | None:
        with self._cond:
            adopted, self._adopted = self._adopted, None
            if adopted is not None:
                self._child = adopted
                return adopted
        argv = self.spec.argv_for(self.peers())
        with self._cond:
            if self._stopping.is_set():
                return None
            self.command = argv
            self.ready_info = {}
            self._child = Child.spawn(
                self.name, argv, log_path=self.log_path, env=self.env, factory=self.factory
            )
            return self._child

    def _ready(self, child: Child | AdoptedRun, info: ReadyInfo) -> None:
        with self._cond:
            self.spec = self.spec.pinned(info)
            self.ready_info = info
        # In the ledger before anyone sees it running: a process manager killed
        # right after must leave it to its successor (or to `down`), not orphaned.
        self._record(child)
        with self._cond:
            self.state = State.RUNNING
            self.started = time.time()
        log.info("%s running (pid %d)", self.name, child.pid)
        self.notify("process_started", self._event(pid=child.pid, endpoints=info))
        with self._cond:  # start(wait) returns now: recorded, and its listeners told
            self._attempts += 1
            self._cond.notify_all()

    def _exited(self, child: Child | AdoptedRun, code: int | None) -> None:
        expected = self._stopping.is_set()
        with self._cond:
            ran = time.time() - self.started if self.state == State.RUNNING and self.started else 0
            if ran >= self.policy.stable_s:
                self._crashes = 0
            self.exit_code, self.last_stderr = code, child.stderr_tail(self.policy.stderr_lines)
            self._child = None
        if self.ledger is not None:
            self.ledger.forget(self.name)
        level = logging.INFO if expected else logging.WARNING
        log.log(level, "%s (pid %d) exited with code %s", self.name, child.pid, code)
        tail = list(self.last_stderr)
        self.notify(
            "process_exited",
            self._event(pid=child.pid, exit_code=code, expected=expected, last_stderr=tail),
        )

    def _backoff(self) -> bool:
        """Wait before the next restart; False if stopped meanwhile or out of restarts."""
        with self._cond:
            self._crashes += 1
            failed = self._crashes > self.policy.max_restarts
            self.state = State.FAILED if failed else State.BACKOFF
            self._attempts += 1
            self._cond.notify_all()
        if failed:
            log.error("%s failed after %d restarts in a row", self.name, self._crashes - 1)
            tail = list(self.last_stderr)
            self.notify("process_failed", self._event(exit_code=self.exit_code, last_stderr=tail))
            return False
        if self._stopping.wait(self.policy.delay(self._crashes)):
            return False
        with self._cond:
            self.restarts += 1
            self.state = State.STARTING
        return True

    def _record(self, child: Child | AdoptedRun) -> None:
        """Note the running process in the ledger, for a process manager that replaces us."""
        if self.ledger is not None:
            self.ledger.record_run(
                self.name,
                child.pid,
                argv=list(self.command),
                spec_argv=list(self.original.argv),
                info=dict(self.ready_info),
                offset=child.offset,
                restarts=self.restarts,
            )

    def _event(self, **values: Any) -> dict[str, Any]:
        return {"name": self.name, "kind": self.spec.kind, "restarts": self.restarts, **values}
