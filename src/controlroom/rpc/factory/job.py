"""What a forked child does before it becomes ``python -m module args``.

It must end up where a freshly started interpreter would be: stdin from
``/dev/null``, stdout and stderr on the descriptors the manager sent, a
process group of its own, the default signal handlers, the garbage
collector on, and ``sys.argv`` as ``-m`` sets it. ``ps`` shows the command
line it stands for rather than the factory's.
"""

from __future__ import annotations

import contextlib
import gc
import os
import runpy
import signal
import sys
from collections.abc import Sequence

import setproctitle


class Job:
    """``python -m argv[2] argv[3:]``, run in this (forked) process."""

    def __init__(self, argv: Sequence[str], *, stdout: int, stderr: int, inherited: list[int]):
        self.argv = list(argv)
        self.stdout = stdout
        self.stderr = stderr
        self.inherited = inherited  # the factory's raw descriptors (pidfds of siblings)

    @property
    def module(self) -> str:
        return self.argv[2]

    def run(self) -> None:
        """Run the module as ``__main__``; its ``SystemExit`` (or error) ends the process
        as it would end ``python -m``."""
        with contextlib.suppress(OSError):  # the factory may have done it already
            os.setpgid(0, 0)
        for fd in self.inherited:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._redirect()
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        gc.enable()
        setproctitle.setproctitle(" ".join(self.argv))
        sys.argv = [self.module, *self.argv[3:]]
        # As under `python -m`, __main__ is a fresh copy of the module, not the preloaded one
        # (runpy would warn, and the module's top level would not run as __main__).
        sys.modules.pop(self.module, None)
        runpy.run_module(self.module, run_name="__main__", alter_sys=True)

    def _redirect(self) -> None:
        devnull = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((devnull, 0), (self.stdout, 1), (self.stderr, 2)):
            os.dup2(source, target)
            if source > 2:
                os.close(source)
