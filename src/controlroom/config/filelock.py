"""An exclusive lock between processes, held on a file for the length of a ``with``.

Here in ``config``, the plain library every layer may import, because the
locked files sit in the local directories the Settings name (``locations``):
the configuration repository, the state directory of detached processes.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an ``fcntl`` lock on ``path`` (made, with its folder, if missing); others wait.

    The lock is the kernel's: it goes with the process, so a crash never leaves
    it taken. Threads of one process do not exclude each other by it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
