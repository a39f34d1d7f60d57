"""Surviving our own death: processes are recorded, and a new process manager adopts them.

Our children run in process groups of their own, so they outlive a process
manager that is killed. :class:`Ledger` keeps ``processes.json`` next to
their logs: for each running process its PID, the PID's start time (a
recycled PID is never taken for ours), the argv and the ready-line info. A
process manager that starts again finds them there and, when the spec still
matches and the process still runs that argv, adopts it instead of starting
a second copy (:class:`AdoptedRun`, watched by polling: it is not our child,
so its exit code is unknown).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Container
from pathlib import Path
from typing import Any

import psutil

from controlroom.services.procman.child import tail

log = logging.getLogger(__name__)

LEDGER = "processes.json"  # in the process manager's directory
_SAME_START_S = 0.01
_POLL_S = 0.02  # how often a process that is not our child is checked for exit


class Ledger:
    """``processes.json``: name → {pid, create_time, argv, spec_argv, info, started, offset}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s unreadable, nothing adopted: %s", self.path, exc)
            return {}
        return (
            {str(k): v for k, v in data.items() if isinstance(v, dict)}
            if isinstance(data, dict)
            else {}
        )

    def record(self, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._write({**self.load(), name: entry})

    def record_run(self, name: str, pid: int, **fields: Any) -> None:
        """Record process ``pid`` with its start time under ``name``; nothing if it is gone."""
        try:
            create_time = psutil.Process(pid).create_time()
        except psutil.Error:  # exited already: its exit is what comes next
            return
        self.record(name, {"pid": pid, "create_time": create_time, **fields})

    def forget(self, name: str) -> None:
        with self._lock:
            entries = self.load()
            if entries.pop(name, None) is not None:
                self._write(entries)

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file renamed over the old one: a reader sees old or new, never half.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as stream:
            json.dump(entries, stream, indent=1)
        Path(tmp).replace(self.path)


def live_process(entry: dict[str, Any]) -> psutil.Process | None:
    """The recorded process if it still runs, started when recorded, with the recorded argv."""
    try:
        process = psutil.Process(int(entry["pid"]))
        same = abs(process.create_time() - float(entry["create_time"])) < _SAME_START_S
        if not same or process.cmdline() != list(entry["argv"]) or _gone(process):
            return None
    except (psutil.Error, KeyError, TypeError, ValueError):
        return None
    return process


class AdoptedRun:
    """A run started by an earlier process manager; the same interface as a :class:`Child`."""

    timed_out = False

    def __init__(self, process: psutil.Process, entry: dict[str, Any], log_path: Path) -> None:
        self.process = process
        self.info: dict[str, str] = {str(k): str(v) for k, v in dict(entry["info"]).items()}
        self.log_path = log_path
        self.offset = int(entry.get("offset") or 0)

    @property
    def pid(self) -> int:
        return self.process.pid

    def read_ready(self, *_: Any) -> dict[str, str]:
        return self.info  # it said so to the process manager that started it

    def drain(self) -> int | None:
        """Wait until it exits; its exit code is unknown (it is not our child)."""
        wait_gone(self.process, None)
        return None

    def terminate(self, grace: float) -> None:
        """SIGTERM to its process group, ``grace`` seconds, then SIGKILL."""
        self.signal(signal.SIGTERM)
        if not wait_gone(self.process, grace):
            self.signal(signal.SIGKILL)
            wait_gone(self.process, grace)

    def signal(self, signum: int) -> None:
        if not _gone(self.process):  # its PID is its group's id, while it lives
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)

    def stderr_tail(self, lines: int) -> list[str]:
        return tail(self.log_path, self.offset, lines)


def kill_stray(entry: dict[str, Any], grace: float) -> bool:
    """Stop a recorded process no spec wants any more (the Setup changed meanwhile);
    False if it was not running."""
    process = live_process(entry)
    if process is None:
        return False
    log.info("stopping pid %d, left by an earlier process manager", process.pid)
    AdoptedRun(process, {"info": {}}, Path(os.devnull)).terminate(grace)
    return True


def stop_recorded(ledger: Ledger, grace: float, keep: Container[str] = ()) -> list[str]:
    """Stop and forget every process ``ledger`` records except those in ``keep``;
    returns the names of those that were still running."""
    stopped = []
    for name, entry in ledger.load().items():
        if name in keep:
            continue
        if kill_stray(entry, grace):
            stopped.append(name)
        ledger.forget(name)
    return stopped


def wait_gone(process: psutil.Process, timeout: float | None) -> bool:
    """Wait until ``process`` has exited; False if ``timeout`` passed first.

    Polled: there is no exit notification for a process that is not our child,
    and psutil's own wait takes a zombie whose new parent has not reaped it
    yet for a live process.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while not _gone(process):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True
