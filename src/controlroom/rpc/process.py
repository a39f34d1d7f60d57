"""Running a control server as a process: a ready line for the parent, clean stop on signals."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
from typing import TextIO

from controlroom.rpc.server import ControlServer

READY_PREFIX = "READY "


def ready_line(server: ControlServer) -> str:
    """What a parent process waits for: the server answers commands once this is printed."""
    info = {"name": server.name, "commands": server.endpoint, "publish": server.pub_endpoint}
    return READY_PREFIX + json.dumps(info)


def parse_ready_line(line: str) -> dict[str, str] | None:
    """The endpoints announced by a child process, or None if ``line`` is not a ready line."""
    if not line.startswith(READY_PREFIX):
        return None
    data = json.loads(line[len(READY_PREFIX) :])
    return data if isinstance(data, dict) else None


class ReadyThenLog(io.StringIO):
    """Passes the ready line to our stdout, then points stdout where stderr goes.

    A parent that detaches us reads our stdout only until the ready line and
    then closes the pipe; anything printed later would fail on the closed pipe,
    so from then on stdout shares the log file that stderr already writes to.
    """

    def flush(self) -> None:
        text = self.getvalue()
        if not text.endswith("\n"):
            return
        self.seek(0)
        self.truncate()
        sys.stdout.write(text)
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def serve_until_signalled(server: ControlServer, ready_stream: TextIO = sys.stdout) -> None:
    """Start ``server``, announce it, and serve until SIGINT, SIGTERM or ``quit``."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: server.stopping.set())
    server.start()
    try:
        print(ready_line(server), file=ready_stream, flush=True)
        server.serve_forever()
    finally:
        server.stop()
