"""State files: what a detached process leaves for later commands (``cs start``, ``up -d``...).

One JSON file per detached process in the state directory, named
``<kind>-<name>.json`` (kind ``cs`` or ``sim``, and ``lab-watcher`` for
whoever supervises the process manager), with its PID, the PID's
start time (so a recycled PID is never mistaken for ours), the endpoints it
announced (actual ports, also when the Settings say port 0) and its log file.
Files are replaced atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from controlroom.config.filelock import file_lock
from controlroom.processes.entry import ProcessError
from controlroom.rpc.child import live_process, start_time

KINDS = ("cs", "sim", "lab")


@dataclass(frozen=True)
class ProcessRecord:
    """One detached process, as written to its state file."""

    kind: str
    name: str
    pid: int
    create_time: float
    started: float  # UTC seconds
    endpoints: dict[str, str] = field(default_factory=dict)
    log: str = ""

    @classmethod
    def of_process(
        cls, kind: str, name: str, pid: int, endpoints: dict[str, str], log: Path | None
    ) -> ProcessRecord:
        """A record for process ``pid``, started just now."""
        create_time = start_time(pid)
        if create_time is None:
            raise ProcessError(f"{name} ({kind}, pid {pid}) exited right after it was ready")
        return cls(kind, name, pid, create_time, time.time(), endpoints, str(log or ""))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ProcessRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(
            kind=str(data["kind"]),
            name=str(data["name"]),
            pid=int(data["pid"]),
            create_time=float(data["create_time"]),
            started=float(data["started"]),
            endpoints={str(k): str(v) for k, v in dict(data.get("endpoints") or {}).items()},
            log=str(data.get("log", "")),
        )

    def process(self) -> psutil.Process | None:
        """The recorded process if it is still running."""
        return live_process(self.pid, self.create_time)


class StateFiles:
    """The state directory: one record and one log per detached process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, kind: str, name: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown process kind {kind!r}")
        return self.directory / f"{kind}-{name}.json"

    def log_path(self, kind: str, name: str) -> Path:
        return self.path(kind, name).with_suffix(".log")

    def read(self, kind: str, name: str) -> ProcessRecord | None:
        """The record of ``kind``/``name``, or None if there is none."""
        path = self.path(kind, name)
        try:
            return ProcessRecord.from_json(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProcessError(f"unreadable state file {path}: {exc}; remove it by hand") from None

    def live(self, kind: str, name: str) -> ProcessRecord | None:
        """The record if its process still runs; a stale record is removed on the way."""
        record = self.read(kind, name)
        if record is not None and record.process() is None:
            self.remove(kind, name)
            return None
        return record

    def write(self, record: ProcessRecord) -> Path:
        path = self.path(record.kind, record.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write a temporary file next to it, then rename: readers see old or new, never half.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as stream:
            stream.write(record.to_json())
        Path(tmp).replace(path)
        return path

    def remove(self, kind: str, name: str) -> None:
        self.path(kind, name).unlink(missing_ok=True)

    def locked(self, kind: str, name: str) -> AbstractContextManager[None]:
        """Serialise start/stop of one process, so two `cs start` cannot both start it."""
        return file_lock(self.path(kind, name).with_suffix(".lock"))
