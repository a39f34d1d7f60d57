"""Where a NavigableDict sits, and the memo of its resolved directives.

A directive is resolved once and the result kept, so ``setup.gse.psu.device``
is the same object every time it is asked for. The memo entry is only reused
while the raw value and the sibling values the directive read (its
*inputs*, e.g. ``device_args``) are unchanged: editing ``device_args`` and
asking again gives a device made with the new arguments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Context:
    """What a NavigableDict knows about its place: file directory, allow-list, key path.

    ``file_roots`` are the folders its ``yaml//`` and ``csv//`` files may be in:
    the folder of the Setup's own file and the configured data directories. A
    file loaded by ``yaml//`` has its own ``source_dir`` but keeps these roots,
    so a chain of files never leads further than the first one could.
    """

    source_dir: Path | None
    allowed_packages: tuple[str, ...]
    path: tuple[str, ...]
    file_roots: tuple[Path, ...] = ()

    def where(self) -> str:
        """The dotted key path, for error messages."""
        return ".".join(self.path) or "top level"

    def child(self, key: str) -> Context:
        return replace(self, path=(*self.path, key))


@dataclass(frozen=True)
class _Entry:
    raw: Any
    inputs: tuple[Any, ...]
    value: Any


class MemoTable:
    """Resolved values by key, each valid for one raw value and one set of inputs."""

    def __init__(self) -> None:
        # Reentrant: resolving one key may read another key of the same mapping.
        # The lock makes two threads asking for one device get one device.
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}

    def forget(self, key: str) -> None:
        """Drop the entry of ``key`` (its value was replaced or deleted)."""
        with self._lock:
            self._entries.pop(key, None)

    def value(self, key: str, raw: Any, inputs: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """The memoized value of ``key``, or ``make()`` when there is no valid one."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.raw == raw and entry.inputs == inputs:
                return entry.value
            value = make()
            self._entries[key] = _Entry(raw, inputs, value)
            return value
