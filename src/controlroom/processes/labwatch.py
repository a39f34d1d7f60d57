"""Who supervises the process manager: the foreground ``up``, or the watcher ``up -d`` leaves.

The process manager restarts the processes it runs; when it is killed
itself they run on with nobody to restart them. So it is supervised too:

- a foreground ``up`` watches it until Ctrl-C or SIGTERM;
- ``up -d`` leaves a small watcher process (``python -m
  controlroom.processes.labwatch``, state file ``lab-watcher.json``, output in
  ``lab-watcher.log``) that ``down`` ends;
- under systemd there is no process manager: systemd runs every process
  itself (``controlroom systemd``), and PID 1 needs no supervisor.

Either records itself in ``lab-watcher.json``. When the process manager is
gone the watcher reads its stop mark (:mod:`controlroom.services.procman.stopmark`):
stopped on purpose (``down``, ``procman stop``, ``quit``, SIGTERM), the
watcher ends, since ``down`` means down; otherwise it crashed, and a new one
is started that adopts the processes still running. Restarts follow the
process manager's own policy (``services.procman``): ``backoff_s`` doubled at
each crash in a row, at most ``max_restarts`` in a row, a run of ``stable_s``
ending the row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from controlroom.config.settings import load_settings
from controlroom.processes.detached import (
    KIND,
    READY_TIMEOUT_S,
    LocalState,
    restart_service,
    start_detached,
    stop_pid,
)
from controlroom.processes.entry import (
    ProcessError,
    ready_stream,
    sigterm_interrupts,
)
from controlroom.processes.service import CORE_SERVICES
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import RpcError
from controlroom.rpc.child import module_argv, wait_gone
from controlroom.rpc.curve import secure_process
from controlroom.rpc.process import READY_PREFIX
from controlroom.services.procman.policy import Policy
from controlroom.services.procman.stopmark import StopMark

WATCHER = ("lab", "watcher")  # kind and name of its state file
PROCMAN = CORE_SERVICES["procman"]
RECHECK_S = 10.0  # the state file is read again this often; the exit itself wakes us at once
RESTART_READY_S = 60.0
WATCHER_EXIT_S = 10.0  # a watcher ends by itself once it sees the stop mark
MODULE = "controlroom.processes.labwatch"

Say = Callable[[str], None]


@dataclass
class CrashRow:
    """Crashes of the process manager in a row, and the backoff before each restart."""

    policy: Policy
    count: int = 0

    def next_delay(self, ran_s: float | None) -> float | None:
        """Seconds before the restart after a crash; None after too many in a row.

        ``ran_s``: how long the run that crashed lasted (None: it never ran).
        """
        if ran_s is not None and ran_s >= self.policy.stable_s:
            self.count = 0
        self.count += 1
        if self.count > self.policy.max_restarts:
            return None
        return self.policy.delay(self.count)


def supervise(state: LocalState, say: Say) -> str:
    """Keep the process manager running until it is stopped on purpose; returns why it was.

    Raises :class:`ProcessError` when it crashed more often in a row than the policy allows.
    """
    mark = StopMark.of(state.settings, state.host_name)
    crashes = CrashRow(Policy.from_settings(state.settings))
    while True:
        ran_s = _until_gone(state)
        reason = mark.reason()
        if reason is not None:
            return reason
        delay = crashes.next_delay(ran_s)
        if delay is None:
            raise ProcessError(
                f"the process manager crashed {crashes.count} time(s) in a row, more than "
                f"services.procman.max_restarts ({crashes.policy.max_restarts}) allows: "
                "not restarted again",
                [
                    "its processes run on unsupervised: `controlroom procman start --start-all` "
                    "adopts them, `controlroom down` stops them"
                ],
            )
        say(
            "the process manager is gone and was not stopped on purpose; "
            f"restarting it in {delay:g} s"
        )
        time.sleep(delay)  # the backoff between restarts, not a wait for readiness
        _restart(state, mark, say)


def _until_gone(state: LocalState) -> float | None:
    """Wait until the process manager is gone; how long its run lasted (None: not running)."""
    while True:
        record = state.files.live(KIND, PROCMAN.name)
        process = record.process() if record is not None else None
        if record is None or process is None:
            return None
        if wait_gone(process, RECHECK_S):
            return time.time() - record.create_time


def _restart(state: LocalState, mark: StopMark, say: Say) -> None:
    try:
        record = restart_service(
            state, PROCMAN, RESTART_READY_S, ("--start-all",), stopped_on_purpose=mark.is_set
        )
    except (ProcessError, RpcError) as exc:
        say(f"could not restart the process manager: {exc}")
        return
    if record is not None:  # None: stopped on purpose meanwhile, seen on the next turn
        say(f"process manager restarted (pid {record.pid}); it adopts what still runs")


# -- the watcher's state file ----------------------------------------------------------


@contextlib.contextmanager
def watching(state: LocalState) -> Iterator[None]:
    """Record this process (a foreground ``up``) as the watcher, so ``down`` waits for it."""
    state.files.write(ProcessRecord.of_process(*WATCHER, os.getpid(), {}, None))
    try:
        yield
    finally:
        _forget(state, os.getpid())


def _forget(state: LocalState, pid: int) -> None:
    """Remove the watcher's state file if it is ``pid``'s (not a newer watcher's)."""
    with contextlib.suppress(ProcessError):
        record = state.files.read(*WATCHER)
        if record is not None and record.pid == pid:
            state.files.remove(*WATCHER)


def start_watcher(state: LocalState) -> ProcessRecord:
    """Leave a watcher process behind for ``up -d`` (one already running is kept)."""
    with state.files.locked(*WATCHER):
        running = state.files.live(*WATCHER)
        if running is not None:
            return running
        argv = module_argv(MODULE, "--handoff-stdout")
        title = "process manager watcher"
        return start_detached(state, *WATCHER, argv, title=title, timeout=READY_TIMEOUT_S)


def stop_watcher(state: LocalState) -> ProcessRecord | None:
    """End the watcher once the process manager is down on purpose; None if none ran.

    It ends by itself when it sees the stop mark; one that does not (asleep
    in a backoff, say) is stopped by PID.
    """
    with state.files.locked(*WATCHER):
        record = state.files.live(*WATCHER)
        process = record.process() if record is not None else None
        if record is None or process is None:
            return None
        if not wait_gone(process, WATCHER_EXIT_S):
            stop_pid(process)
        _forget(state, record.pid)
    return record


# -- the watcher process of `up -d` ----------------------------------------------------


def _say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Watch the process manager until it is stopped on purpose, or SIGTERM."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument(
        "--handoff-stdout", action="store_true", help="after the ready line, stdout goes to stderr"
    )
    args = parser.parse_args(argv)
    state = LocalState(load_settings())  # the file CONTROLROOM_LOCAL_SETTINGS names, as `up`'s
    secure_process(state.settings, serving=False)
    stream = ready_stream(args.handoff_stdout)
    print(READY_PREFIX + json.dumps({"name": "lab-watcher"}), file=stream, flush=True)
    try:
        with sigterm_interrupts():
            reason = supervise(state, _say)
    except KeyboardInterrupt:
        _say("asked to stop: the process manager is no longer watched")
        return
    except ProcessError as exc:
        _say(f"{exc}; {' '.join(exc.details)}")
        sys.exit(1)
    finally:
        _forget(state, os.getpid())
    _say(f"the process manager was stopped on purpose ({reason}): nothing left to watch")


if __name__ == "__main__":
    main()
