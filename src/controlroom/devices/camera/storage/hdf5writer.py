"""`FrameWriter`: frames to HDF5 files on a writer thread, never blocking the DPU's loop.

The DPU processor calls `FrameWriter.put` once per readout cycle. The frame
goes on a bounded queue and ``put`` returns at once. When the queue is full
the frame is *not* taken: ``put`` returns `PutStatus.BEHIND`, the event is
counted and `FrameWriter.lagging` is raised, and the caller decides (wait with
``block=True``, or alarm). Nothing is ever dropped silently: a frame is either
written, refused with BEHIND, or counted in ``frames_failed`` and logged when
its file could not take it (a full disk), after which the next frame opens a
new file part.

`FrameWriter.begin` announces a frame whose readout started; the writer
thread records it at once (see `FrameFile.begin`), so a process killed
mid-readout leaves that frame marked cut. An announcement is an aid, not a
frame: one the queue cannot take is not waited for, only counted.

Which file a frame goes to: see
`controlroom.devices.camera.storage.paths`; how it is laid out and committed:
`controlroom.devices.camera.storage.hdf5file` and `.hdf5layout`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlroom.devices.camera.storage import paths
from controlroom.devices.camera.storage.frames import CameraStorageError, Frame, FrameBegun
from controlroom.devices.camera.storage.hdf5file import FrameFile
from controlroom.devices.camera.storage.hdf5layout import compression_options

log = logging.getLogger(__name__)
_STOP = object()


class PutStatus(enum.Enum):
    """What `FrameWriter.put` did with a frame."""

    QUEUED = "queued"
    BEHIND = "behind"  # the queue is full: the frame was not taken, the caller still has it


@dataclass
class WriterStats:
    """Counters of a `FrameWriter`, for monitoring and alarms (a copy: `FrameWriter.stats`)."""

    frames_written: int = 0
    bytes_written: int = 0
    frames_failed: int = 0
    begins_lost: int = 0  # frame starts not recorded: the queue was full or the file refused
    behind_events: int = 0
    queue_depth: int = 0
    queue_frames: int = 0
    last_lag_s: float = 0.0
    max_lag_s: float = 0.0
    last_written_s: float = 0.0  # when the last frame was written (UTC; 0: none yet)
    lagging: bool = False
    current_file: str = ""
    last_error: str = ""


class FrameWriter:
    """Writes frames under ``root`` from a bounded queue of ``queue_frames`` frames.

    ``lag_alarm_s``: `lagging` is raised while the last frame was written more
    than this long after its reception. ``clock`` gives UTC seconds (tests fix it).
    The writer keeps references to a frame's arrays: do not reuse them after ``put``.
    """

    def __init__(
        self,
        root: Path,
        *,
        queue_frames: int,
        lag_alarm_s: float = 10.0,
        chunk_pixels: int = 1 << 20,
        compression: str | None = None,
        fsync: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= queue_frames <= 1024:
            raise CameraStorageError(f"queue_frames: {queue_frames} is outside 1..1024")
        if not 1024 <= chunk_pixels <= 1 << 24:
            raise CameraStorageError(f"chunk_pixels: {chunk_pixels} is outside 1024..{1 << 24}")
        compression_options(compression)  # refuse an unknown or unavailable one now
        self.root = Path(root)
        self._chunk_pixels = chunk_pixels
        self._compression = compression
        self._fsync = fsync
        self._lag_alarm_s = lag_alarm_s
        self._clock = clock
        # One queue keeps the order (a frame's start before the frame); the room for
        # frames and for starts is counted apart, so starts never cost a frame its place.
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._frame_room = threading.Semaphore(queue_frames)
        self._begin_room = threading.Semaphore(queue_frames)
        self._stats = WriterStats(queue_frames=queue_frames)
        self._stats_lock = threading.Lock()  # put() and the writer thread both count
        self._done = threading.Condition()
        self._accepted = self._finished = 0
        self._file: FrameFile | None = None
        self._series = ""
        self._thread = threading.Thread(target=self._run, name="camera-frame-writer", daemon=True)
        self._closed = False

    def start(self) -> FrameWriter:
        """Start the writer thread (frames put before are written first)."""
        self._thread.start()
        return self

    def __enter__(self) -> FrameWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, frame: Frame, block: bool = False, timeout: float | None = None) -> PutStatus:
        """Queue ``frame``; BEHIND (counted) if the queue stays full. Returns at once by default."""
        if not isinstance(frame, Frame):
            raise CameraStorageError(f"put() takes a Frame, not {type(frame).__name__}")
        if self._closed:
            raise CameraStorageError("the frame writer is closed")
        if not self._frame_room.acquire(blocking=block, timeout=timeout if block else None):
            with self._stats_lock:
                self._stats.behind_events += 1
            return PutStatus.BEHIND
        with self._stats_lock:
            self._stats.queue_depth += 1
        self._enqueue(frame)
        return PutStatus.QUEUED

    def begin(self, header: FrameBegun) -> PutStatus:
        """Announce a frame whose readout started; never waits (BEHIND: counted, not recorded)."""
        if not isinstance(header, FrameBegun):
            raise CameraStorageError(f"begin() takes a FrameBegun, not {type(header).__name__}")
        if self._closed:
            raise CameraStorageError("the frame writer is closed")
        if not self._begin_room.acquire(blocking=False):
            with self._stats_lock:
                self._stats.begins_lost += 1
            return PutStatus.BEHIND
        self._enqueue(header)
        return PutStatus.QUEUED

    def _enqueue(self, item: Frame | FrameBegun) -> None:
        with self._done:
            self._accepted += 1
        self._queue.put(item)

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued frame is written (or failed); False if ``timeout_s`` passed."""
        with self._done:
            return self._done.wait_for(lambda: self._finished >= self._accepted, timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Write what is queued, close the file and stop the thread."""
        if self._closed:
            return
        self._closed = True
        if not self._thread.is_alive():
            self._thread.start()
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    @property
    def stats(self) -> WriterStats:
        """The counters now (queue depth and the lag alarm included)."""
        with self._stats_lock:
            stats = dataclasses.replace(self._stats)
        stats.lagging = (
            stats.queue_depth >= stats.queue_frames or stats.last_lag_s > self._lag_alarm_s
        )
        return stats

    @property
    def lagging(self) -> bool:
        """The queue is full, or the last frame was written later than ``lag_alarm_s``."""
        return self.stats.lagging

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if isinstance(item, FrameBegun):
                self._begin_room.release()
                self._begin(item)
            else:
                assert isinstance(item, Frame)
                self._frame_room.release()
                with self._stats_lock:
                    self._stats.queue_depth -= 1
                self._write(item)
            with self._done:
                self._finished += 1
                self._done.notify_all()
        self._close_file()

    def _write(self, frame: Frame) -> None:
        try:
            self._file_for(frame).append(frame)
        except Exception as exc:  # a frame that could not be stored is counted and logged
            log.exception("camera frame %d not stored", frame.frame_counter)
            self._close_file()
            with self._stats_lock:
                self._stats.frames_failed += 1
                self._stats.last_error = f"frame {frame.frame_counter}: {exc}"
            return
        written_s = self._clock()
        lag = written_s - frame.received_s
        with self._stats_lock:
            stats = self._stats
            stats.frames_written += 1
            stats.bytes_written += frame.nbytes
            stats.last_written_s = written_s  # a reader of the counters times the writes by it
            stats.last_lag_s = lag
            stats.max_lag_s = max(stats.max_lag_s, lag)

    def _begin(self, header: FrameBegun) -> None:
        try:
            self._file_for(header).begin(header)
        except Exception as exc:  # the frame itself may still be stored: counted apart
            log.exception("start of camera frame %d not recorded", header.frame_counter)
            self._close_file()
            with self._stats_lock:
                self._stats.begins_lost += 1
                self._stats.last_error = f"start of frame {header.frame_counter}: {exc}"

    def _file_for(self, frame: Frame | FrameBegun) -> FrameFile:
        series = paths.series_name(frame)
        if self._file is None or series != self._series:
            self._close_file()
            path = paths.new_file_path(self.root, frame)
            self._file = FrameFile(
                path,
                frame.obsid,
                chunk_pixels=self._chunk_pixels,
                compression=self._compression,
                fsync=self._fsync,
            )
            self._series = series
            with self._stats_lock:
                self._stats.current_file = str(path)
        return self._file

    def _close_file(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except Exception:  # closing a file on a failed disk must not stop the writer
                log.exception("closing camera file %s", file.path)
