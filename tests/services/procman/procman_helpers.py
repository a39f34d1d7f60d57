"""Helpers for the process manager tests: specs running ``child_script.py``, event capture."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from controlroom.services.procman.processspec import ProcessSpec

SERVICES = ["registry", "logman", "confman", "storage", "scheduler", "scenarios"]
CHILD = str(Path(__file__).with_name("child_script.py"))


def child_spec(name: str, *options: str, **fields: Any) -> ProcessSpec:
    """A spec running the test child with ``options``."""
    fields.setdefault("kind", "service")
    return ProcessSpec(name=name, argv=(sys.executable, CHILD, *options), **fields)


class Events:
    """Collects the supervisor's events, with the time each arrived."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            self.seen.append((time.monotonic(), event, data))

    def named(self, event: str, name: str | None = None) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return [
                (t, d)
                for t, e, d in self.seen
                if e == event and (name is None or d.get("name") == name)
            ]

    def order(self, event: str) -> list[str]:
        return [data["name"] for _, data in self.named(event)]


def gone(pid: int) -> bool:
    """Exited; a zombie counts (its new parent, not us, reaps it when it gets to it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
