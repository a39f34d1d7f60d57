"""Frames to the storage: build the frame of a period, queue it, wait while the storage is behind.

A frame carries the commands sent in the command window before its
timecode (the commands that shaped this readout). When a readout starts, a
storage that can (:class:`BeginsFrames`) is told at once, so a processor
killed mid-readout leaves that frame marked cut; the frame keeps the obsid
it was begun with, so it completes the row it announced.

The storage's queue is bounded: when it cannot take a frame (``BEHIND``),
the frame is counted and the loop waits for room, answering priority
requests meanwhile; nothing is dropped. Only a processor told to stop while
it waits gives a frame up, and says so (counted, and an error).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from controlroom.devices.camera.dpu.commands import CommandReply, DpuError
from controlroom.devices.camera.dpu.readout import ReadoutAssembly
from controlroom.devices.camera.dpu.reporting import BeginsFrames, FrameSink, LoopCounters
from controlroom.devices.camera.dpu.state import DpuState
from controlroom.devices.camera.storage import Frame, FrameBegun, PutStatus
from controlroom.devices.camera.storage.frames import MAX_COMMANDS

_LOG = logging.getLogger(__name__)


class FrameHandoff:
    """Frames of ``state``'s periods to ``sink``; ``serve`` answers priority requests."""

    def __init__(
        self,
        sink: FrameSink,
        state: DpuState,
        counters: LoopCounters,
        serve: Callable[[], None],
        poll_s: float,
    ) -> None:
        self.sink = sink
        self.state = state
        self.counters = counters
        self.serve = serve
        self.poll_s = poll_s
        self.stop = threading.Event()
        # Commands sent since the last frame; beyond what a frame holds, the oldest
        # go (their callers had their replies: only the frame's record is shorter).
        self.sent: deque[CommandReply] = deque(maxlen=MAX_COMMANDS)
        self._behind = False
        self._last_file = ""
        self._begun: FrameBegun | None = None

    def begin(self, frame_counter: int, timecode: int, received_s: float, hk: bytes) -> None:
        """A readout starts: a storage that records starts is told now (never waited for)."""
        header = FrameBegun(self.state.parameters.obsid, frame_counter, timecode, received_s, hk)
        self._begun = header
        if isinstance(self.sink, BeginsFrames):
            self.sink.begin(header)  # BEHIND: the storage counts it; the frame still comes

    def frame(
        self,
        frame_counter: int,
        timecode: int,
        received_s: float,
        hk: bytes,
        assembly: ReadoutAssembly | None,
        *,
        hk_readback: bytes = b"",
    ) -> Frame:
        """The frame of this period (``assembly``: its readout, None without data)."""
        begun, self._begun = self._begun, None
        obsid = self.state.parameters.obsid
        if begun is not None and begun.frame_counter == frame_counter:
            obsid = begun.obsid  # an obsid set during the readout counts from the next frame
        frame = Frame(
            obsid=obsid,
            frame_counter=frame_counter,
            timecode=timecode,
            received_s=received_s,
            hk=hk,
            register_map=self.state.registers.as_array(),
            commands=[reply.as_record() for reply in self.sent],
            images=assembly.images("data") if assembly else {},
            overscan=assembly.images("overscan") if assembly else {},
            complete=assembly is None or assembly.complete,
            hk_readback=hk_readback,
            num_cycles=self.state.num_cycles,
        )
        self.sent.clear()
        return frame

    def store(self, frame: Frame) -> None:
        """Queue ``frame``; while the storage is behind, wait for room."""
        status = self.sink.put(frame)
        if status is PutStatus.BEHIND:
            self.counters.sink_behind += 1
            if not self._behind:  # once per run of frames that had to wait
                _LOG.warning("DPU processor: the storage is behind; frames wait for it")
        self._behind = status is PutStatus.BEHIND
        while status is PutStatus.BEHIND:
            if self.stop.is_set():
                self.counters.frames_lost += 1
                raise DpuError(
                    f"frame {frame.frame_counter} not stored: the processor stopped "
                    "while the storage was behind"
                )
            self.serve()
            status = self.sink.put(frame, block=True, timeout=self.poll_s)
        self.counters.frames += 1
        if not frame.complete:
            self.counters.incomplete_frames += 1

    def new_file(self) -> str | None:
        """The storage's file, when it changed since the last call (a FrameWriter says it)."""
        stats = getattr(self.sink, "stats", None)
        current = str(getattr(stats, "current_file", "") or "")
        if not current or current == self._last_file:
            return None
        self._last_file = current
        return current
