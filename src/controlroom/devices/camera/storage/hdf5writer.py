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

With ``separate_process=True`` the thread hands each frame to a child process
that writes the files (`controlroom.devices.camera.storage.hdf5process`): the
same queue, counters and files, without h5py holding this process's GIL.

Which file a frame goes to: see
`controlroom.devices.camera.storage.hdf5series` and `.paths`; how it is laid
out and committed: `controlroom.devices.camera.storage.hdf5file` and `.hdf5layout`.
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

import numpy as np

from controlroom.devices.camera.storage.frames import CameraStorageError, Frame, FrameBegun
from controlroom.devices.camera.storage.hdf5layout import compression_options
from controlroom.devices.camera.storage.hdf5process import WriterProcess
from controlroom.devices.camera.storage.hdf5series import FileSeries, FrameStore

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
    ``separate_process``: the files are written by a child process (see the module).
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
        separate_process: bool = False,
    ) -> None:
        if not 1 <= queue_frames <= 1024:
            raise CameraStorageError(f"queue_frames: {queue_frames} is outside 1..1024")
        if not 1024 <= chunk_pixels <= 1 << 24:
            raise CameraStorageError(f"chunk_pixels: {chunk_pixels} is outside 1024..{1 << 24}")
        compression_options(compression)  # refuse an unknown or unavailable one now
        self.root = Path(root)
        store = WriterProcess if separate_process else FileSeries
        self._files: FrameStore = store(
            self.root, chunk_pixels=chunk_pixels, compression=compression, fsync=fsync
        )
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
        self._thread = threading.Thread(target=self._run, name="camera-frame-writer", daemon=True)
        self._opened = threading.Event()
        self._closed = False

    def start(self) -> FrameWriter:
        """Start the writer thread (frames put before are written first); with a writer
        process, return once it is ready (or failed to start: logged, tried again)."""
        self._thread.start()
        self._opened.wait()
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

    def lease_pixels(self, nbytes: int) -> np.ndarray | None:
        """Memory for a frame's pixels that a writer process reads without a copy (uint8),
        or None (a writer thread, or no room free): assemble the pixels there, then put."""
        lease = getattr(self._files, "lease", None)
        return None if lease is None else lease(nbytes)

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
        try:
            self._files.open(self._stored)  # on this thread, which outlives a writer process
        except Exception:  # every frame tries again, and is counted if it fails
            log.exception("the camera frame writer could not get ready")
        finally:
            self._opened.set()
        while self._submit_next():
            pass
        self._files.close()

    def _submit_next(self) -> bool:
        """Hand the next item to the store (False: STOP). No reference to it stays here
        while the next is awaited: a frame's leased pixels free up once it is stored."""
        item = self._queue.get()
        if item is _STOP:
            return False
        if isinstance(item, FrameBegun):
            self._begin_room.release()
        else:
            assert isinstance(item, Frame)
            self._frame_room.release()
            with self._stats_lock:
                self._stats.queue_depth -= 1
        self._files.submit(item)
        return True

    def _stored(self, item: Frame | FrameBegun, error: Exception | None, current: str) -> None:
        """The store's word on ``item`` (from this writer's thread or the store's own)."""
        if isinstance(item, FrameBegun):
            self._begun(item, error, current)
        else:
            self._written(item, error, current)
        with self._done:
            self._finished += 1
            self._done.notify_all()

    def _written(self, frame: Frame, error: Exception | None, current: str) -> None:
        if error is not None:  # a frame that could not be stored is counted and logged
            log.error("camera frame %d not stored", frame.frame_counter, exc_info=error)
            with self._stats_lock:
                self._stats.frames_failed += 1
                self._stats.last_error = f"frame {frame.frame_counter}: {error}"
                self._stats.current_file = current
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
            stats.current_file = current

    def _begun(self, header: FrameBegun, error: Exception | None, current: str) -> None:
        if error is not None:  # the frame itself may still be stored: counted apart
            log.error("start of camera frame %d not recorded", header.frame_counter, exc_info=error)
            with self._stats_lock:
                self._stats.begins_lost += 1
                self._stats.last_error = f"start of frame {header.frame_counter}: {error}"
                self._stats.current_file = current
            return
        with self._stats_lock:
            self._stats.current_file = current
