"""Surviving our own death: processes are recorded, and a new process manager adopts them.

Our children run in process groups of their own, so they outlive a process
manager that is killed. :class:`Ledger` keeps ``processes.json`` next to
their logs: for each running process its PID, the PID's start time (a
recycled PID is never taken for ours), the argv and the ready-line info. A
process manager that starts again finds them there and, when the spec still
matches and the process still runs that argv, adopts it instead of starting
a second copy (an :class:`~controlroom.rpc.child.AdoptedRun`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Container
from pathlib import Path
from typing import Any

import psutil

from controlroom.rpc.child import AdoptedRun, live_process, start_time, stop_process

log = logging.getLogger(__name__)

LEDGER = "processes.json"  # in the process manager's directory


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
        create_time = start_time(pid)
        cmdline = command_line(pid)
        if create_time is None or cmdline is None:  # exited already: its exit comes next
            return
        entry = {"pid": pid, "create_time": create_time, "cmdline": cmdline, **fields}
        self.record(name, entry)

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


def command_line(pid: int) -> list[str] | None:
    """Process ``pid``'s command line as the system shows it; None if it is gone.

    A forked process shows the argv it stands for (the factory sets its
    title), which the system may split differently from the argv itself.
    """
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return None


def recorded_process(entry: dict[str, Any]) -> psutil.Process | None:
    """The process ``entry`` records, if it still runs: started when recorded, with that
    command line."""
    try:
        argv = [str(arg) for arg in entry.get("cmdline") or entry["argv"]]
        return live_process(int(entry["pid"]), float(entry["create_time"]), argv)
    except (KeyError, TypeError, ValueError):
        return None


def adopted_run(process: psutil.Process, entry: dict[str, Any], log_path: Path) -> AdoptedRun:
    """``process``, found by :func:`recorded_process`, as a run to supervise again."""
    info = {str(k): str(v) for k, v in dict(entry["info"]).items()}
    return AdoptedRun(process, info, log_path, int(entry.get("offset") or 0))


def kill_stray(entry: dict[str, Any], grace: float) -> bool:
    """Stop a recorded process no spec wants any more (the Setup changed meanwhile);
    False if it was not running."""
    process = recorded_process(entry)
    if process is None:
        return False
    log.info("stopping pid %d, left by an earlier process manager", process.pid)
    stop_process(process, grace)
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
