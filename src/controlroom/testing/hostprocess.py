"""A process running inside one host of :mod:`controlroom.testing.netns`.

``ip netns exec`` execs the command, so the :class:`~controlroom.rpc.child.Child`
it was spawned as *is* the process: its PID, its process group, its stderr log.
A :class:`HostProcess` waits for its ready line when asked to, then keeps
draining its stdout so a chatty process never blocks on a full pipe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from controlroom.rpc.child import STOP_GRACE_S, Child, NotReady

_TAIL_LINES = 20  # of stderr, in the message of a process that was not ready

ReadyParser = Callable[[str], Any]
"""A stdout line -> what it announces, or None for any other line."""


class HostProcess:
    """A process running inside one host's namespace."""

    def __init__(self, host: str, argv: Sequence[str], child: Child) -> None:
        self.host = host
        self.argv = list(argv)
        self.child = child
        self.info: Any = None  # what its ready line said, when one was waited for
        self._drain: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def output(self) -> str:
        """The last lines it wrote to stderr, for the message of a failing test."""
        return "\n".join(self.child.stderr_tail(_TAIL_LINES))

    def begin(self, ready: ReadyParser | None, timeout: float) -> None:
        """Wait for the line ``ready`` accepts (if given), then drain its stdout."""
        if ready is not None:
            try:
                self.info = self.child.wait_ready(ready, timeout)
            except NotReady as exc:  # it has been stopped
                exc.add_note(f"its stderr:\n{self.output}")
                raise
        self._drain = threading.Thread(target=self.child.drain, daemon=True)
        self._drain.start()

    def running(self) -> bool:
        return self.child.process.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        return self.child.process.wait(timeout)

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """SIGTERM to its process group, SIGKILL after ``grace``; its exit code."""
        code = self.child.terminate(grace)
        self.let_go(grace)
        return code

    def let_go(self, grace: float = STOP_GRACE_S) -> None:
        """Stop reading its stdout (a process it started may hold the pipe until it is gone)."""
        if self._drain is None:
            self.child.release()
        else:
            self._drain.join(grace)
