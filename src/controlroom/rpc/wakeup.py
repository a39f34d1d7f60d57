"""A pipe that wakes a thread sleeping in a poll, from any thread.

A thread that sleeps in ``zmq.Poller.poll`` until a message comes cannot see a
flag set meanwhile; polling with a timeout to look at it costs a wake-up
every few milliseconds, in every idle process (a hundred idle servers on a
host woke thousands of times a second for nothing). Registering
:attr:`WakePipe.fd` in the poll instead lets :meth:`WakePipe.nudge` end the
sleep at once.
"""

from __future__ import annotations

import contextlib
import os
import weakref


class WakePipe:
    """``fd`` turns readable after :meth:`nudge`; :meth:`drain` makes it quiet again."""

    def __init__(self) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        weakref.finalize(self, _close, self.fd, self._write_fd)

    def nudge(self) -> None:
        """Wake the sleeper; any thread, never blocks."""
        with contextlib.suppress(BlockingIOError):  # a full pipe: a wake-up is pending
            os.write(self._write_fd, b"x")

    def drain(self) -> None:
        """Take the pending wake-ups (called by the woken thread)."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 4096):
                pass


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
