"""Frame sinks for the DPU loop tests: one that takes everything, in order."""

from __future__ import annotations

import threading

from controlroom.devices.camera.storage import Frame, PutStatus


class ListSink:
    """Keeps every frame put, and lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._changed = threading.Condition()

    def put(self, frame: Frame, block: bool = False, timeout: float | None = None) -> PutStatus:
        with self._changed:
            self.frames.append(frame)
            self._changed.notify_all()
        return PutStatus.QUEUED

    def wait_for(self, count: int, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.frames) >= count, timeout_s)
