"""The DPU processor's frames written by a writer process: h5py never holds the processor's GIL.

A FrameWriter made with ``separate_process=True`` keeps its queue and its
counters; a child process stores the frames. Checked: pixel-exact files,
nothing of HDF5 in the parent, the parent's threads running while the
child is stopped in the middle of a frame, a dead child replaced without
losing the frame, the signals a process group gets ignored, the child
gone with its parent, frames assembled in lent shared memory stored exact
and their slots lent again only once nothing holds them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from writer_frames import OBSID, begun, frame, same

from controlroom.devices.camera.storage import (
    FrameFileReader,
    FrameWriter,
    PutStatus,
    framewire,
    observation_files,
)
from controlroom.devices.camera.storage.hdf5file import FrameFile
from controlroom.testing.lentframes import in_lent_memory
from controlroom.testing.waiting import wait_until

WAIT_S = 60.0
HERE = Path(__file__).parent


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[FrameWriter]:
    writer = FrameWriter(tmp_path, queue_frames=4, separate_process=True).start()
    try:
        yield writer
    finally:
        writer.close()


def writer_process() -> psutil.Process:
    [child] = psutil.Process().children()
    assert "storage.writerchild" in " ".join(child.cmdline())
    return child


def alive(process: psutil.Process) -> bool:
    """Running, and not a zombie waiting for whoever reaps it now."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stored(root: Path) -> list[tuple[Path, list]]:
    parts = []
    for path in observation_files(root, OBSID):
        with FrameFileReader(path) as reader:
            parts.append((path, [reader.read(e.position) for e in reader.entries() if e.whole]))
    return parts


def test_frames_are_stored_pixel_exact_and_never_through_hdf5_here(
    tmp_path: Path, writer: FrameWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*_: object) -> None:
        raise AssertionError("HDF5 written in the processor's own process")

    monkeypatch.setattr(FrameFile, "append", not_here)
    monkeypatch.setattr(FrameFile, "begin", not_here)
    frames = [frame(n) for n in range(4)]
    assert writer.begin(begun(frames[0])) is PutStatus.QUEUED
    for each in frames:
        assert writer.put(each, block=True) is PutStatus.QUEUED
    assert writer.drain(WAIT_S)
    stats = writer.stats
    assert (stats.frames_written, stats.frames_failed, stats.begins_lost) == (4, 0, 0)
    assert stats.bytes_written == sum(f.nbytes for f in frames)
    [(path, back)] = stored(tmp_path)
    assert stats.current_file == str(path)
    assert len(back) == 4 and all(same(b, f) for b, f in zip(back, frames, strict=True))


def test_the_writer_thread_lets_the_others_run_while_the_child_is_mid_frame(
    tmp_path: Path, writer: FrameWriter
) -> None:
    child = writer_process()
    child.suspend()  # SIGSTOP: the frame below stays in the middle of its way
    try:
        big = frame(1, rows=2000, cols=2000)  # 16 MB: more than the socket holds
        assert writer.put(big) is PutStatus.QUEUED
        assert not writer.drain(0.2)  # the writer thread is inside the frame, waiting
        # Were the GIL held over the send, this thread could not run at all here.
        assert sum(range(100_000)) == 4_999_950_000
        assert writer.stats.frames_written == 0
    finally:
        child.resume()
    assert writer.drain(WAIT_S) and writer.stats.frames_written == 1
    [(_, [back])] = stored(tmp_path)
    assert same(back, big)


def test_a_dead_writer_process_is_replaced_and_its_frame_sent_again(
    tmp_path: Path, writer: FrameWriter
) -> None:
    writer.put(frame(0), block=True)
    assert writer.drain(WAIT_S)
    first = writer_process()
    first.kill()
    first.wait(WAIT_S)
    for counter in (1, 2):
        writer.put(frame(counter), block=True)
    assert writer.drain(WAIT_S)
    assert writer.stats.frames_written == 3 and writer.stats.frames_failed == 0
    assert writer_process().pid != first.pid
    parts = stored(tmp_path)
    assert [path.name for path, _ in parts] == [f"{OBSID}_camera.h5", f"{OBSID}_camera_002.h5"]
    back = [f for _, frames in parts for f in frames]
    assert [f.frame_counter for f in back] == [0, 1, 2]
    assert all(same(b, frame(b.frame_counter)) for b in back)


def test_the_signals_of_its_process_group_do_not_stop_it(writer: FrameWriter) -> None:
    child = writer_process()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(child.pid, signum)
    writer.put(frame(0), block=True)
    assert writer.drain(WAIT_S) and writer.stats.frames_written == 1
    assert writer_process().pid == child.pid


def test_closing_the_writer_ends_its_process(tmp_path: Path) -> None:
    writer = FrameWriter(tmp_path, queue_frames=2, separate_process=True).start()
    child = writer_process()
    writer.put(frame(0), block=True)
    writer.close()
    assert not alive(child)  # reaped by the writer's close
    assert [len(frames) for _, frames in stored(tmp_path)] == [1]


def test_the_writer_process_dies_with_its_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, str(HERE / "writer_parent.py"), str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.startswith("WRITER "), line
        child = psutil.Process(int(line.split()[1]))
        parent.kill()
        assert parent.wait(WAIT_S) == -signal.SIGKILL
        assert wait_until(lambda: not alive(child), WAIT_S)  # killed with its parent
    finally:
        parent.kill()
        parent.wait(WAIT_S)
        parent.stdin.close()  # type: ignore[union-attr]
        parent.stdout.close()  # type: ignore[union-attr]
    [(_, [back])] = stored(tmp_path)
    assert same(back, frame(0))


def test_a_child_whose_replies_stop_making_sense_is_killed_before_its_slots_are_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controlroom.devices.camera.storage.frames import CameraStorageError

    real = framewire.receive_reply
    calls = []

    def garbled_second(sock: Any) -> Any:
        calls.append(1)
        if len(calls) != 2:  # the first is the child's "ready"
            return real(sock)
        monkeypatch.setattr(framewire, "receive_reply", real)
        real(sock)  # the answer to frame 0, read but not understood
        raise CameraStorageError("a reply that is not one")

    monkeypatch.setattr(framewire, "receive_reply", garbled_second)
    writer = FrameWriter(tmp_path, queue_frames=4, separate_process=True).start()
    try:
        first = writer_process()
        writer.put(frame(0), block=True)  # counted as not stored: its answer was garbled
        assert writer.drain(WAIT_S)
        assert wait_until(lambda: not alive(first), WAIT_S)  # silenced before its slots went back
        for counter in (1, 2, 3, 4):  # more frames than slots: every slot came back
            writer.put(frame(counter), block=True)
        assert writer.drain(WAIT_S)
        assert writer.stats.frames_written == 4 and writer.stats.frames_failed == 1
    finally:
        writer.close()
    back = [f for _, frames in stored(tmp_path) for f in frames]
    # Frame 0 was stored (the child answered it), though its answer could not be read.
    assert [f.frame_counter for f in back] == [0, 1, 2, 3, 4]
    assert all(same(b, frame(b.frame_counter)) for b in back)


def test_frames_assembled_in_lent_memory_are_stored_exact_and_their_slots_come_back(
    tmp_path: Path, writer: FrameWriter
) -> None:
    writer.put(frame(0), block=True)  # the child runs: its slots exist
    assert writer.drain(WAIT_S)
    lent = [in_lent_memory(frame(n), writer.lease_pixels) for n in (1, 2, 3)]
    assert all(each is not None for each in lent)
    assert in_lent_memory(frame(4), writer.lease_pixels) is None  # every slot is lent
    for each in lent:
        assert writer.put(each, block=True) is PutStatus.QUEUED
    assert writer.drain(WAIT_S) and writer.stats.frames_written == 4
    # Written, but still held here: a slot the DPU still fills must not be lent again.
    assert in_lent_memory(frame(5), writer.lease_pixels) is None
    del each
    lent.pop()
    assert wait_until(
        lambda: in_lent_memory(frame(6), writer.lease_pixels) is not None, timeout_s=WAIT_S
    )
    [(_, back)] = stored(tmp_path)
    assert [f.frame_counter for f in back] == [0, 1, 2, 3]
    assert all(same(b, frame(b.frame_counter)) for b in back)
