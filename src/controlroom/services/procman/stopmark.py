"""Whether the process manager was stopped on purpose: an orderly stop told apart from a crash.

A process manager stopped on purpose (``quit``, SIGINT, SIGTERM, ``controlroom
down``) stops every process it runs and must stay down. One that was killed
leaves them running, and whoever supervises it (a foreground ``up``, the
watcher of ``up -d``) starts a new one, which adopts them. The file
``stopped`` next to the ledger tells the two apart. It is written as soon as
a stop is asked for, before any process is stopped, so a supervisor that
sees the process manager gone always finds it; a process manager removes it
when it starts serving.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from controlroom.config.settings import location
from controlroom.rpc.hosts import DEFAULT_HOST, this_host

MARK = "stopped"
DIRECTORY = "procman"  # under the host's state folder: the ledger, the children's logs, the mark
HOSTS = "hosts"  # under locations.state: one folder per named host


def state_directory(settings: Mapping[str, Any], host: str) -> Path:
    """Host ``host``'s state folder: ``locations.state``, or ``<state>/hosts/<host>`` for
    a host the Settings name, so hosts sharing one folder (a home on NFS, network
    namespaces of one machine) never take each other's state files for their own."""
    root = location(settings, "state")
    return root if host == DEFAULT_HOST else root / HOSTS / host


def procman_directory(settings: Mapping[str, Any], host: str | None = None) -> Path:
    """Where the process manager of ``host`` (default: this one) keeps its ledger, its
    children's logs and its stop mark."""
    return state_directory(settings, host or this_host(settings)) / DIRECTORY


class StopMark:
    """The file ``stopped``: present from a stop on purpose until the next start."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / MARK

    @classmethod
    def of(cls, settings: Mapping[str, Any], host: str | None = None) -> StopMark:
        return cls(procman_directory(settings, host))

    def set(self, reason: str) -> None:
        """Record why the process manager stops; the first reason given is kept."""
        if self.path.exists():
            return  # `down` said so before its quit reached the process manager
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"reason": reason, "time": time.time(), "pid": os.getpid()}
        # Renamed into place: a supervisor never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=MARK, suffix=".tmp")
        with os.fdopen(fd, "w") as stream:
            json.dump(record, stream)
        Path(tmp).replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def reason(self) -> str | None:
        """Why it was stopped on purpose; None if it was not (it crashed, or still runs)."""
        try:
            record = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return "reason unreadable"  # the file's being there is what counts
        reason = record.get("reason") if isinstance(record, dict) else None
        return str(reason) if reason else "no reason given"

    def is_set(self) -> bool:
        return self.path.exists()
