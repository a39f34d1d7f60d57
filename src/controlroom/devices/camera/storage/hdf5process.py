"""Camera files written by a process of their own, so h5py never holds the DPU processor's GIL.

h5py holds the GIL for the whole of each call into HDF5, and a writer thread
that the system deschedules in the middle of one (on a busy machine) holds
it for as long: every other thread of the process, the DPU's loop and its
control endpoint included, waits. A `FrameWriter` made with
``separate_process=True`` keeps its queue, its thread and its counters, but
its thread hands each frame to :class:`WriterProcess`, which sends it over a
socket pair (:mod:`.framewire`), its pixels through a slot of shared
memory (:mod:`.pixelslots`), to a child that stores it with a
`FileSeries`. The frames follow each other on the socket (the child never
waits for the next one); a thread of its own reads the child's replies, in
order, and tells the writer. Both wait in socket calls, without the GIL.

The child is ``python -m controlroom.devices.camera.storage.writerchild``.
It stays in its parent's process group, so a signal to the group (SIGSTOP,
SIGKILL of a crash test) reaches both, but it ignores SIGTERM, SIGINT and
SIGHUP: it stops when its parent says so, once every frame is written. It
dies with its parent (PR_SET_PDEATHSIG), so a killed processor leaves its
file as a killed writer thread would: open, every committed frame in it. A
child found dead when a frame is sent is replaced and the frame sent again
(the new child opens a new file part); the frames it had taken and not
answered are counted as not stored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

import numpy as np

from controlroom.devices.camera.storage import framewire
from controlroom.devices.camera.storage.frames import CameraStorageError, Frame
from controlroom.devices.camera.storage.hdf5series import Done, Item
from controlroom.devices.camera.storage.pixelslots import PixelSlots

log = logging.getLogger(__name__)
START_S = 30.0  # for the child to import h5py and say it is ready (a loaded machine)
STOP_S = 60.0  # for the child to write what it was sent, close its file and exit
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024  # fewer wake-ups per frame on both sides
CHILD = "controlroom.devices.camera.storage.writerchild"


class WriterProcess:
    """The `FrameStore` of a writer thread whose files a child process writes.

    :meth:`open` and :meth:`submit` are called from one thread (the
    writer's), which starts the child and outlives it.
    """

    def __init__(
        self, root: Path, *, chunk_pixels: int, compression: str | None, fsync: bool
    ) -> None:
        self.root = Path(root)
        self._argv = [
            sys.executable, "-m", CHILD, "--root", str(self.root),
            "--chunk-pixels", str(chunk_pixels), "--compression", compression or "none",
        ]  # fmt: skip
        if fsync:
            self._argv.append("--fsync")
        self._slots: PixelSlots | None = None  # made with the first child, kept for the next
        self._done: Done | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._replies: threading.Thread | None = None
        self._lock = threading.Lock()
        # Not answered yet, in order: the item, its slot, and whether it was taken for it
        # (given back with the reply; a leased slot frees itself once the frame is gone).
        self._sent: deque[tuple[Item, int | None, bool]] = deque()
        self._replies_ended = False  # the reply thread of the current child has ended
        self.current_file = ""

    @property
    def pid(self) -> int | None:
        """The child's PID while one runs."""
        return None if self._child is None else self._child.pid

    def lease(self, nbytes: int) -> np.ndarray | None:
        """Shared memory for a frame's pixels to be assembled in (None: no slot is free)."""
        slots = self._slots
        return None if slots is None else slots.lease(nbytes)

    def open(self, done: Done) -> None:
        """Start the child and wait until it is ready (raises if it does not start)."""
        self._done = done
        self._running()

    def submit(self, item: Item) -> None:
        """Send ``item`` to the child; ``done`` follows from the reply thread (or from
        here, if no child takes it)."""
        assert self._done is not None, "open() first"
        try:
            if self._send(item) or self._send(item):  # a child found dead: once more
                return
        except CameraStorageError as exc:  # no child starts
            self._done(item, exc, self.current_file)  # here: no local keeps exc (nor item)
            return
        error = CameraStorageError("the writer process ended before it took the frame")
        self._done(item, error, self.current_file)

    def close(self) -> None:
        """Let the child store what it was sent, close its file and exit; wait for it."""
        if self._socket is not None:
            with contextlib.suppress(OSError, CameraStorageError):
                framewire.send_item(self._socket, framewire.STOP)
        self._end(STOP_S)
        if self._slots is not None:  # the child and the reply thread are gone
            self._slots.close()
            self._slots = None

    def _send(self, item: Item) -> bool:
        """Whether ``item`` went to a child (False: it died before it took it)."""
        sock = self._running()
        entry = (item, *self._slot_for(self._slots_made(), item))
        with self._lock:
            gone = self._replies_ended  # the child died before this frame could go to it
            if not gone:
                self._sent.append(entry)
        if gone:
            self._release(entry)
            self._end(0.0)
            return False  # sent again, to a new child
        try:
            framewire.send_item(sock, item, slots=self._slots_made(), slot=entry[1])
            return True
        except OSError as exc:
            log.warning("camera writer process: %s; starting another one", exc)
        with self._lock:  # unless the reply thread counted it with the child's loss
            mine = any(sent is entry for sent in self._sent)
            if mine:
                self._sent.remove(entry)
        if mine:
            self._release(entry)
        self._end(0.0)
        return not mine

    @staticmethod
    def _slot_for(slots: PixelSlots, item: Item) -> tuple[int | None, bool]:
        """The shared slot of a frame's pixels and whether it was taken for them: the
        slot they were assembled in, else a free one they fit, else none (they follow
        the header on the socket). Never waits: leased slots free up only as frames go."""
        if not isinstance(item, Frame):
            return None, False
        arrays = framewire.pixel_arrays(item)
        leased = slots.holding(arrays)  # only native uint16 arrays in place are
        if leased is not None:
            return leased, False
        slot = slots.try_take() if slots.fits(arrays) else None
        return slot, slot is not None

    def _release(self, entry: tuple[Item, int | None, bool]) -> None:
        _, slot, taken = entry
        if taken and slot is not None:
            self._slots_made().give_back(slot)

    def _slots_made(self) -> PixelSlots:
        if self._slots is None:
            self._slots = PixelSlots()
        return self._slots

    def _running(self) -> socket.socket:
        if self._socket is not None:
            return self._socket
        try:
            slots = self._slots_made()
        except OSError as exc:  # no memfd or no room to map it: no writer process either
            raise CameraStorageError(f"no shared memory for the writer process: {exc}") from exc
        mine, theirs = socket.socketpair()
        for end in (mine, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
        argv = [*self._argv, "--fd", str(theirs.fileno()), "--parent", str(os.getpid())]
        argv += ["--slots-fd", str(slots.fd), "--slots", str(slots.count),
                 "--slot-bytes", str(slots.slot_bytes)]  # fmt: skip
        try:
            self._child = subprocess.Popen(
                argv, pass_fds=(theirs.fileno(), slots.fd), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self._socket = mine
        try:
            mine.settimeout(START_S)
            framewire.receive_reply(mine)  # ready: h5py imported, signals set
            mine.settimeout(None)  # a write takes as long as the disk needs
        except (OSError, EOFError, CameraStorageError) as exc:
            code = self._end(0.0)
            raise CameraStorageError(f"the writer process did not start ({code}): {exc}") from exc
        self._replies_ended = False  # the last child's reply thread was joined in _end
        self._replies = threading.Thread(
            target=self._read_replies,
            args=(mine, self._child),
            name="camera-writer-replies",
            daemon=True,
        )
        self._replies.start()
        return mine

    def _read_replies(self, sock: socket.socket, child: subprocess.Popen[bytes] | None) -> None:
        """Tell ``done`` of each item the child answers; at the end, of those it never will.

        However this ends, the child no longer reads the slots of the frames it was
        sent when they are given back: one that stopped answering is killed first.
        """
        reason = "the writer process stopped answering before it stored it"
        stopped = False
        try:
            while not (reply := framewire.receive_reply(sock)).get("stopped"):
                self._answered(reply)
            stopped = True
            reason = "the writer process stopped before it stored it"
        except (OSError, EOFError, CameraStorageError, IndexError) as exc:
            reason = f"the writer process ended before it stored it: {exc}"
        finally:
            with self._lock:  # from now on a frame is not sent to this child but another
                lost, self._sent = list(self._sent), deque()
                self._replies_ended = True
            if not stopped:
                _silence(sock, child)  # before its slots go back
            self._lost(lost, reason)

    def _answered(self, reply: dict[str, object]) -> None:
        """The child's reply to the oldest item sent (which is not kept here after it)."""
        assert self._done is not None
        with self._lock:
            entry = self._sent.popleft()
        self._release(entry)
        self.current_file = str(reply.get("file") or self.current_file)
        error = None if reply.get("ok") else CameraStorageError(str(reply.get("error")))
        self._done(entry[0], error, self.current_file)

    def _lost(self, lost: list[tuple[Item, int | None, bool]], reason: str) -> None:
        assert self._done is not None
        for entry in lost:
            self._release(entry)
            self._done(entry[0], CameraStorageError(reason), self.current_file)

    def _end(self, wait_s: float) -> int | None:
        """Let the reply thread finish (at once if ``wait_s`` is 0), close the socket, reap
        the child (killed if it is not gone after ``wait_s``); its exit code."""
        sock, self._socket = self._socket, None
        child, self._child = self._child, None
        replies, self._replies = self._replies, None
        if sock is not None:
            if replies is not None:
                replies.join(wait_s)
                if replies.is_alive():  # the child hangs, or is gone: end its reads
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    replies.join()
            sock.close()  # the child sees the end of its stream
        if child is None:
            return None
        try:
            return child.wait(wait_s)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()


def _silence(sock: socket.socket, child: subprocess.Popen[bytes] | None) -> None:
    """End a child whose replies stopped: its stream shut (the parent's next send fails)
    and the process killed and reaped, so it touches no slot any more."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    if child is not None:
        with contextlib.suppress(OSError):
            child.kill()
        child.wait()
