"""Appending to several CSV files as one write: all of it durable, or nothing of it left.

A batch of the CSV backend (or several batches written together) goes to a
few files: its daily file and its observation's. Each file is opened once and
appended to; then every file is fsync'ed, and every folder that got a new
file. Written first and synced after, the files share the journal commit the
file system makes for the first fsync, so the others cost little. When
anything fails (a full disk), every file is cut back to its size before (a
file that was created is removed), so no torn line and no part of the batch
stays behind.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from controlroom.storage import csvformat

log = logging.getLogger(__name__)


class Appends:
    """The files one write appends to: open descriptors, and each file's size before."""

    def __init__(self) -> None:
        self._open: dict[Path, int] = {}
        self._before: list[tuple[Path, int | None]] = []  # None: the write created it
        self._folders: set[Path] = set()

    @property
    def paths(self) -> list[Path]:
        return [path for path, _ in self._before]

    def add(self, path: Path, text: str, *, created: bool) -> None:
        """Append ``text`` to ``path`` (``created``: it did not exist before this write)."""
        descriptor = self._open.get(path)
        if descriptor is None:
            self._before.append((path, None if created else path.stat().st_size))
            descriptor = self._open[path] = os.open(
                path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
            if created:
                self._folders.add(path.parent)
        # Unbuffered: when the disk is full the error comes from here, at once.
        view = memoryview(text.encode("utf-8"))
        while view:
            view = view[os.write(descriptor, view) :]

    def sync(self) -> None:
        """Make every file durable, and the new files' entries in their folders."""
        for descriptor in self._open.values():
            os.fsync(descriptor)
        for folder in self._folders:
            csvformat.fsync_dir(folder)

    def undo(self) -> None:
        """Cut every file back to its size before (remove the ones this write created)."""
        self.close()
        for path, size in reversed(self._before):
            try:
                csvformat.cut_back(path, size)
            except OSError as exc:
                log.error("cannot cut %s back after a failed write: %s", path, exc)

    def close(self) -> None:
        for descriptor in self._open.values():
            os.close(descriptor)
        self._open.clear()
