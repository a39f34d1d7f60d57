"""A small real filesystem for tests of a full disk: a tmpfs mounted on a folder.

A full disk is best tested on a real one: the kernel then decides where a write
stops (a short write, then ``ENOSPC``), not the test. :func:`small_disk` mounts
a tmpfs of a few megabytes on a folder (this needs root, as in CI), gives a
:class:`SmallDisk` that can :meth:`~SmallDisk.fill` every free byte and
:meth:`~SmallDisk.free` them again, and always unmounts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

FILLER = ".filler"
_CHUNKS = (1 << 20, 4096, 1)  # big steps first, then the last page byte by byte


class SmallDiskError(RuntimeError):
    """The tmpfs could not be mounted (not root, no mount command)."""


def mount_refused() -> str | None:
    """Why this process cannot mount a tmpfs (None when it can try)."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    return None


class SmallDisk:
    """A mounted tmpfs at ``path``; ``fill`` takes every free byte, ``free`` gives them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / FILLER

    def fill(self) -> int:
        """Write a filler file until the disk refuses one more byte; returns its size."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in _CHUNKS:
                _write_until_full(descriptor, b"\0" * size)
            return os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)

    def free(self) -> None:
        """Remove the filler: the space it held is free again."""
        self.filler.unlink(missing_ok=True)

    def available(self) -> int:
        """Free bytes on the disk, as ``statvfs`` reports them."""
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize


def _write_until_full(descriptor: int, chunk: bytes) -> None:
    while True:
        try:
            os.write(descriptor, chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            return


@contextlib.contextmanager
def small_disk(path: Path, size_bytes: int) -> Iterator[SmallDisk]:
    """Mount a tmpfs of ``size_bytes`` on ``path`` (created) for the ``with``; unmount after."""
    path.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", str(path)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise SmallDiskError(f"cannot mount a tmpfs on {path}: {detail}") from exc
    try:
        yield SmallDisk(path)
    finally:
        # Lazy: a file some process still holds open must not leave the mount behind.
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)  # noqa: S607
