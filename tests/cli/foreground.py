"""``controlroom up`` run in the foreground by a test (imported by name: keep it unique)."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time


class ForegroundUp:
    """``controlroom up ARGS`` in the foreground, its output read by a thread."""

    def __init__(self, *args: str) -> None:
        argv = [sys.executable, "-m", "controlroom.cli.main", "up", *args]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        """True once a line containing ``text`` was printed within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.output.append(line)
            if text in line:
                return True
        return False

    def text(self) -> str:
        """Everything printed so far."""
        with contextlib.suppress(queue.Empty):
            while True:
                self.output.append(self.lines.get_nowait())
        return "".join(self.output)
