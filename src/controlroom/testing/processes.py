"""Control servers in child processes, for tests: a fixture layer over :mod:`controlroom.rpc.child`.

:class:`ServerProcess` starts a child, waits for its ``READY {json}`` line
(:mod:`controlroom.rpc.process`), drains its stdout so it cannot block on a
full pipe, and always stops the child it started. The child's stderr goes to
a log in a temporary directory, removed with the child: a test that fails
shows its tail.
"""

from __future__ import annotations

import os
import shlex
import signal
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from controlroom.rpc.child import STOP_GRACE_S, Child, NotReady, module_argv
from controlroom.rpc.process import parse_ready_line

_TAIL_LINES = 20  # of stderr, in the message of a failing start


class ServerProcess:
    """One child process running a control server."""

    def __init__(self, argv: Sequence[str], *, ready_timeout: float = 15.0) -> None:
        self.argv = list(argv)
        self.ready_timeout = ready_timeout
        self.endpoints: dict[str, str] = {}
        self._child: Child | None = None
        self._logs: tempfile.TemporaryDirectory[str] | None = None
        self._drain: threading.Thread | None = None

    @property
    def child(self) -> Child:
        assert self._child is not None, "not started"
        return self._child

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def endpoint(self) -> str:
        return self.endpoints["commands"]

    @property
    def pub_endpoint(self) -> str:
        return self.endpoints["publish"]

    @property
    def output(self) -> str:
        """The last lines the child wrote to stderr, for the message of a failing test."""
        return "\n".join(self.child.stderr_tail(_TAIL_LINES))

    def start(self) -> Self:
        self._logs = tempfile.TemporaryDirectory(prefix="controlroom-server-")
        log = Path(self._logs.name) / "server.log"
        self._child = Child.spawn(shlex.join(self.argv), self.argv, log_path=log)
        try:
            self.endpoints = self._child.wait_ready(parse_ready_line, self.ready_timeout)
        except BaseException as exc:
            if isinstance(exc, NotReady):
                exc.add_note(f"its stderr:\n{self.output}")
            self.stop()
            raise
        self._drain = threading.Thread(target=self._child.drain, daemon=True)
        self._drain.start()
        return self

    def kill(self) -> None:
        """SIGKILL to the server alone, like a crash: no clean-up runs in it."""
        process = self.child.process
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self, timeout: float = STOP_GRACE_S) -> int | None:
        """SIGTERM to its process group, SIGKILL if it does not exit in time; its exit code."""
        if self._child is None:
            return None
        code = self._child.terminate(timeout)
        if self._drain is None:
            self._child.release()
        else:
            self._drain.join(timeout)
        if self._logs is not None:
            self._logs.cleanup()
        return code

    def wait(self, timeout: float | None = None) -> int | None:
        return self.child.process.wait(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def dummy_server(
    endpoint: str = "tcp://127.0.0.1:0", pub_endpoint: str = "tcp://127.0.0.1:0"
) -> ServerProcess:
    """A dummy-sensor control server in a child process (not yet started)."""
    argv = module_argv("controlroom.testing.dummy_server")
    return ServerProcess([*argv, "--endpoint", endpoint, "--pub-endpoint", pub_endpoint])
