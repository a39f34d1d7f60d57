"""Frame sinks for the DPU loop tests: one that takes everything, in order."""

from __future__ import annotations

import threading

import numpy as np

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


class LendingSink(ListSink):
    """A ListSink that lends memory for the pixels, as a writer process does."""

    def __init__(self) -> None:
        super().__init__()
        self.lent: list[np.ndarray] = []

    def lease_pixels(self, nbytes: int) -> np.ndarray:
        block = np.zeros(nbytes, np.uint8)
        self.lent.append(block)
        return block
