"""What the processor's loop publishes, counts and reports, and the clock it reads.

Publications go through one callback, ``publish(topic, payload)``; the
payload per topic (times are UTC seconds of reception at the processor):

=================== ======================================================
SYNC_TIMECODE       (timecode, time)
SYNC_HK_PACKET      (HousekeepingPacket, time)
SYNC_DATA_PACKET    (DataPacket, time): its payload is a view on the
                    received message, valid during the call only: copy it
N_FEE_REGISTER_MAP  the mirror's register map, a uint8 numpy array (a copy)
NUM_CYCLES          num_cycles after this pulse's count
HDF5_FILENAMES      [path]: the file the storage writes into, when it changes
SYNC_ERROR_FLAGS    (error flags, frame counter, time) from the HK read back
=================== ======================================================

Errors are counted, passed to an error callback, and logged once per burst:
the first error of a run of failing cycles with its traceback, the length of
the run when a cycle succeeds again, so a broken link does not flood the log.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from controlroom.devices.camera.storage import Frame, FrameBegun, PutStatus


class Topic(enum.StrEnum):
    SYNC_TIMECODE = "SYNC_TIMECODE"
    SYNC_HK_PACKET = "SYNC_HK_PACKET"
    SYNC_DATA_PACKET = "SYNC_DATA_PACKET"
    N_FEE_REGISTER_MAP = "N_FEE_REGISTER_MAP"
    NUM_CYCLES = "NUM_CYCLES"
    HDF5_FILENAMES = "HDF5_FILENAMES"
    SYNC_ERROR_FLAGS = "SYNC_ERROR_FLAGS"


Publish = Callable[[Topic, object], None]
OnError = Callable[[BaseException], None]


@runtime_checkable
class HearsSubscribers(Protocol):
    """A ``publish`` that knows whether anybody follows a topic (a DpuPublisher does)."""

    def wants(self, topic: Topic) -> bool: ...


class FrameSink(Protocol):
    """Where frames go: a :class:`FrameWriter`, or anything that queues like it."""

    def put(self, frame: Frame, block: bool = False, timeout: float | None = None) -> PutStatus: ...


@runtime_checkable
class BeginsFrames(Protocol):
    """A sink that records a frame when its readout starts (a FrameWriter does)."""

    def begin(self, header: FrameBegun) -> PutStatus: ...


@runtime_checkable
class LendsPixels(Protocol):
    """A sink whose storage reads pixels from memory it lends (a writer process does):
    a readout assembled there goes to storage without a copy."""

    def lease_pixels(self, nbytes: int) -> np.ndarray | None: ...


class Clock(Protocol):
    """Reception times (``time``, UTC) and the command window (``monotonic``, ``sleep``,
    ``wait``: a sleep that ``event`` ends early; True if it did)."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, event: threading.Event, seconds: float) -> bool: ...


class SystemClock:
    """The computer's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


@dataclass
class LoopCounters:
    """Totals since the loop was made (a copy: ``DpuLoop.counters``)."""

    cycles: int = 0  # timecodes handled
    frames: int = 0  # frames handed to the storage
    incomplete_frames: int = 0  # of those, readouts that did not come in whole
    timecode_timeouts: int = 0  # waits for a timecode that ended without one (not errors)
    unexpected_packets: int = 0  # packets that belong to no cycle being read (discarded)
    errors: int = 0  # cycles (or parts of one) that failed, each reported
    sink_behind: int = 0  # frames the storage could not take at once (the loop waited)
    frames_lost: int = 0  # frames the storage never took (the loop was stopped meanwhile)
    commands_sent: int = 0  # RMAP writes the FEE accepted
    commands_failed: int = 0  # RMAP writes refused, unanswered or not sendable
    priority_served: int = 0
    resyncs: int = 0  # register maps read from the FEE into the mirror

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class ErrorBursts:
    """Logs the first error of a burst and the burst's length at its end."""

    def __init__(self, log: logging.Logger, on_error: OnError | None) -> None:
        self._log = log
        self._on_error = on_error
        self._burst = 0

    def error(self, error: BaseException, during: str) -> None:
        if self._burst == 0:
            self._log.error(
                "DPU processor: %s failed: %s (further errors are counted until a cycle succeeds)",
                during,
                error,
                exc_info=error,
            )
        self._burst += 1
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # a broken callback must not stop the loop
                self._log.exception("DPU processor: the error callback failed")

    def good(self) -> None:
        if self._burst:
            self._log.warning("DPU processor: %d errors before this good cycle", self._burst)
            self._burst = 0
