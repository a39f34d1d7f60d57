"""The DPU processor as a supervised child: started, watched, restarted with backoff, stopped.

The processor must never stay away: it reads the FEE every sync period and
without it no frame is stored. :class:`ProcessorSupervisor` starts it
(:class:`~controlroom.rpc.child.Child`, waiting for its ``READY {json}``
line), and a watcher thread waits for its exit -- a crash, a ``kill -9``,
anything but our own stop -- and starts it again:

* after ``first_delay_s``, doubled for each exit in a row up to
  ``max_delay_s``; a run of ``stable_after_s`` or longer ends the row;
* after ``max_restarts`` restarts in a row it gives up: the state is
  ``failed`` and stays so (the control server reports it; an operator
  looks at the processor's log);
* a processor that exits or stays silent before its ready line counts as
  an exit too.

These are the process manager's semantics, with the same numbers by
default (:data:`DEFAULT_POLICY`). Each new run is handed to ``on_ready``
before it counts as up, so the controller moves its client to the new
control endpoint first. :meth:`restart` stops the processor on purpose: it
is started again at once, without counting as a crash. The processor's
stderr goes to a log file (a header line marks each run); how the last run
ended, with the last lines it wrote, is kept for the status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from controlroom.devices.camera.control.errors import ProcessorStartError
from controlroom.devices.camera.control.runs import ProcessorExit, ProcessorRun
from controlroom.rpc.child import STOP_GRACE_S, Child, NotReady
from controlroom.rpc.process import parse_ready_line
from controlroom.rpc.threads import RestartPolicy

log = logging.getLogger(__name__)

DEFAULT_POLICY = RestartPolicy(
    first_delay_s=0.5, max_delay_s=30.0, max_restarts=5, stable_after_s=60.0
)
READY_TIMEOUT_S = 30.0
WHAT = "DPU processor"


OnReady = Callable[[ProcessorRun], None]


class ProcessorSupervisor:
    """Runs ``argv`` (the processor) and keeps it running until :meth:`stop`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        on_ready: OnReady,
        policy: RestartPolicy = DEFAULT_POLICY,
        ready_timeout_s: float = READY_TIMEOUT_S,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path  # the processor's stderr (None: ours)
        self.policy = policy
        self.ready_timeout_s = ready_timeout_s
        self._on_ready = on_ready
        self._env = env
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a run began, or the state settled
        self._stopping = threading.Event()
        self._child: Child | None = None
        self._run: ProcessorRun | None = None
        self.state = "stopped"  # starting, running, backoff, failed, stopped
        self.restarts = 0
        self.last_exit: ProcessorExit | None = None
        self._in_a_row = 0
        self._restart_asked = False
        self._watcher: threading.Thread | None = None

    @property
    def run(self) -> ProcessorRun | None:
        """The processor running now; None while it is down."""
        return self._run

    def start(self) -> ProcessorRun:
        """Start the processor, wait for its ready line, watch it; ProcessorStartError if not."""
        self._stopping.clear()
        try:
            child, run = self._launch()
        except NotReady as error:
            self.state = "failed"
            self._note_exit(None, None, failed=str(error))
            details = "".join(f"\n  {line}" for line in error.details)
            raise ProcessorStartError(f"the {WHAT} did not start: {error}{details}") from None
        self._watcher = threading.Thread(
            target=self._watch, args=(child, run), name="dpu-processor-watch", daemon=True
        )
        self._watcher.start()
        return run

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (then SIGKILL after ``grace_s``) to the processor; no restart after it."""
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None:
            child.terminate(grace_s)  # the watcher drains its stdout and reaps it
        if self._watcher is not None:
            self._watcher.join(grace_s * 2 + 1.0)
        self.state = "stopped"

    def restart(self, timeout_s: float | None = None) -> ProcessorRun | None:
        """Stop the running processor on purpose and wait (up to ``timeout_s``, default the
        ready timeout) for the new one the watcher starts at once; or start it again after
        the supervisor gave up on it (``failed``). The new run; None if none came in time."""
        with self._lock:
            child, old = self._child, self._run
            if child is not None:
                self._restart_asked = True
        if child is None:
            if self.state != "failed":
                raise ProcessorStartError(f"the {WHAT} is {self.state}: it starts again by itself")
            self._in_a_row = 0
            return self.start()
        child.terminate()

        def settled() -> bool:
            new = self._run is not None and self._run is not old
            return new or self.state == "failed" or self._stopping.is_set()

        with self._changed:
            self._changed.wait_for(
                settled, self.ready_timeout_s if timeout_s is None else timeout_s
            )
            return self._run

    def describe(self) -> dict[str, Any]:
        """pid, up, state, restarts and how the last run ended, as plain data."""
        run, last = self._run, self.last_exit
        return {
            "pid": run.pid if run is not None else None,
            "up": run is not None,
            "state": self.state,
            "restarts": self.restarts,
            "control": run.control if run is not None else None,
            "publish": run.publish if run is not None else None,
            "last_exit": last.as_dict() if last is not None else None,
        }

    def _launch(self) -> tuple[Child, ProcessorRun]:
        """Spawn the processor, wait for its ready line, hand the run to ``on_ready``;
        NotReady (the child stopped) if any of it fails."""
        self.state = "starting"
        child = Child.spawn(WHAT, self.argv, log_path=self.log_path, env=self._env)
        with self._lock:
            self._child = child
        if self._stopping.is_set():  # stop() came before it could see this child
            child.stop()
            raise NotReady(f"the {WHAT} was stopped while it started")
        try:
            info: dict[str, Any] = child.wait_ready(parse_ready_line, self.ready_timeout_s)
            run = ProcessorRun(
                int(info["pid"]), str(info["control"]), str(info["publish"]), time.time()
            )
            self._on_ready(run)
        except Exception as error:
            with self._lock:
                self._child = None
            if isinstance(error, NotReady):
                raise  # wait_ready stopped it
            child.stop()
            raise NotReady(f"the {WHAT} started but could not be used: {error!r}") from error
        with self._changed:
            self._run = run
            self.state = "running"
            self._changed.notify_all()
        return child, run

    def _watch(self, child: Child, run: ProcessorRun) -> None:
        """Wait for each run's end and start the next, until stopped or given up."""
        current: tuple[Child, ProcessorRun] | None = (child, run)
        while current is not None:
            ended, ended_run = current
            code = ended.drain()  # returns when the processor exited
            exit_ = self._note_exit(ended_run, code, stderr=ended.stderr_tail())
            current = self._next_run(exit_.requested)

    def _next_run(self, requested: bool) -> tuple[Child, ProcessorRun] | None:
        """Start the next run, after the backoff unless it was asked for (None: no more)."""
        while not self._stopping.is_set():
            if not requested:
                delay = self._backoff()
                if delay is None or self._stopping.wait(delay):
                    return None
            try:
                child, run = self._launch()
            except NotReady as error:
                log.warning("the %s did not start again: %s", WHAT, error)
                requested = self._note_exit(None, None, failed=str(error)).requested
                continue
            self.restarts += 1
            log.warning(
                "%s restarted (restart %d): pid %d, control %s",
                WHAT, self.restarts, run.pid, run.control,
            )  # fmt: skip
            return child, run
        return None

    def _note_exit(
        self,
        run: ProcessorRun | None,
        code: int | None,
        *,
        failed: str = "",
        stderr: list[str] | None = None,
    ) -> ProcessorExit:
        """Record the end of ``run`` (None: a start that ``failed``) and log it."""
        now = time.time()
        ran = now - run.started_s if run is not None else 0.0
        with self._lock:
            self._child = None
            self._run = None
            requested, self._restart_asked = self._restart_asked, False
        if ran >= self.policy.stable_after_s:
            self._in_a_row = 0
        pid = run.pid if run is not None else None
        ended = ProcessorExit(pid, code, now, ran, requested, failed, list(stderr or []))
        self.last_exit = ended
        if run is not None and not self._stopping.is_set():
            level = logging.INFO if requested else logging.WARNING
            tail = f"; the last line of its log: {ended.stderr[-1]}" if ended.stderr else ""
            log.log(level, "the %s (pid %d) %s after %.1f s%s", WHAT, run.pid, ended.how, ran, tail)
        return ended

    def _backoff(self) -> float | None:
        """Seconds to wait before the next start; None once out of restarts (``failed``)."""
        self._in_a_row += 1
        if self._in_a_row > self.policy.max_restarts:
            with self._changed:
                self.state = "failed"
                self._changed.notify_all()
            where = self.log_path if self.log_path is not None else "the log above"
            log.error(
                "the %s failed %d times in a row: not restarted again; see %s",
                WHAT, self._in_a_row, where,
            )  # fmt: skip
            return None
        self.state = "backoff"
        delay = self.policy.delay_s(self._in_a_row)
        log.warning("the %s starts again in %.1f s (restart %d)", WHAT, delay, self.restarts + 1)
        return delay
