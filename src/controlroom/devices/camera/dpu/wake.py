"""WakePipe: lets any thread wake the one thread that owns (and polls) a ZeroMQ socket.

A ZeroMQ socket is used from one thread only. Other threads hand that thread
work through a queue, then write a byte to a pipe whose read end the owner
polls together with its socket, so it wakes for the work at once. Writing is
safe from any thread and never blocks (a full pipe wakes the owner already);
after :meth:`WakePipe.close` a wake does nothing (the descriptor numbers may
belong to another file by then).
"""

from __future__ import annotations

import contextlib
import os
import threading


class WakePipe:
    """A non-blocking pipe: :meth:`wake` from anywhere, :attr:`fd` polled by the owner."""

    def __init__(self) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._lock = threading.Lock()
        self._open = True

    def wake(self) -> None:
        with self._lock, contextlib.suppress(BlockingIOError):
            if self._open:
                os.write(self._write_fd, b"\0")

    def clear(self) -> None:
        """Take the wake-ups written so far (the owner, before it looks for work)."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 4096):
                pass

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                os.close(self.fd)
                os.close(self._write_fd)
