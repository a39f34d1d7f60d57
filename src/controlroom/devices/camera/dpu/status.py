"""The processor's status, answered from any thread without touching the loop's state.

The loop's state belongs to the loop's thread. After each sync period that
thread builds a fresh dict (:func:`loop_status`) and hands it to the
:class:`StatusBoard`, which swaps it in under a lock; the control endpoint's
thread reads the latest one, so it never sees a half-updated state. The
storage's counters are read when asked (the writer keeps them thread-safe).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Protocol

from controlroom.devices.camera.dpu.loop import DpuLoop
from controlroom.devices.camera.storage import WriterStats


class HasWriterStats(Protocol):
    @property
    def stats(self) -> WriterStats: ...


def loop_status(loop: DpuLoop) -> dict[str, Any]:
    """What the loop knows now, as plain data; call it on the loop's thread."""
    state = loop.state
    hk = state.last_housekeeping
    return {
        "mode": state.mode.name if state.mode is not None else None,
        "frame_counter": state.frame_counter,
        "timecode": state.timecode,
        "received_s": state.received_s,
        "error_flags": state.error_flags,
        "num_cycles": state.num_cycles,
        "dump_due": state.dump_due,
        "obsid": state.parameters.obsid,
        "synced": state.synced,
        "housekeeping": dict(hk.values) if hk is not None else {},
        "counters": loop.counters.as_dict(),
        "link": loop.link.counters.as_dict(),
        "commands_waiting": len(loop.commands),
        "priority_waits": loop.priorities.waits.as_dict(),
        "updated_s": time.time(),
    }


class StatusBoard:
    """The latest loop status and the storage's counters, for the control endpoint."""

    def __init__(self, writer: HasWriterStats, pid: int) -> None:
        self._writer = writer
        self._pid = pid
        self._started_s = time.time()
        self._lock = threading.Lock()
        self._loop: dict[str, Any] = {}

    def update(self, status: dict[str, Any]) -> None:
        """Publish ``status`` (never changed afterwards: readers may hold it)."""
        with self._lock:
            self._loop = status

    def snapshot(self) -> dict[str, Any]:
        """The status reply: loop, storage, pid."""
        with self._lock:
            loop = self._loop
        stats = self._writer.stats
        return {
            **loop,
            "started_s": self._started_s,
            "writer": dataclasses.asdict(stats),
            "file": stats.current_file,
            "writer_lag_s": stats.last_lag_s,
            "lagging": stats.lagging,
            "pid": self._pid,
        }
