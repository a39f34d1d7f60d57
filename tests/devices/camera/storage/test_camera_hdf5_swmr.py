"""Another process reads a camera file while the writer is still writing it (HDF5 SWMR)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from framemaker import ALL_SIDES, digest, make_frame

from controlroom.devices.camera.storage import FrameWriter, PutStatus

FOLLOW_READER = Path(__file__).with_name("follow_reader.py")
LOCKSTEP = 4
FRAMES = 40


def _frame(counter: int):  # every side, big enough that writes and reads overlap
    return make_frame(counter, shape=(300, 400), sides=ALL_SIDES)


@pytest.mark.integration
def test_a_reader_process_follows_the_file_while_it_is_written(tmp_path: Path) -> None:
    writer = FrameWriter(tmp_path, queue_frames=4, chunk_pixels=50_000).start()
    child = None
    try:
        assert writer.put(_frame(0), block=True) is PutStatus.QUEUED
        assert writer.drain(60)
        argv = [sys.executable, str(FOLLOW_READER), writer.stats.current_file, str(FRAMES)]
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline() == "opened\n"
        # Lockstep: each frame is read by the other process before the next is written,
        # so it reads a file whose writer has it open.
        for counter in range(1, LOCKSTEP):
            expected = f"frame {counter - 1} {digest(_frame(counter - 1))}\n"
            assert child.stdout.readline() == expected
            writer.put(_frame(counter), block=True)
        # Then a burst: the reader reads while frames are being written.
        for counter in range(LOCKSTEP, FRAMES):
            writer.put(_frame(counter), block=True)
        lines = [child.stdout.readline() for _ in range(LOCKSTEP - 1, FRAMES)]
        assert lines == [f"frame {i} {digest(_frame(i))}\n" for i in range(LOCKSTEP - 1, FRAMES)]
        assert child.wait(60) == 0
    finally:
        writer.close()
        if child is not None:
            child.kill()
            child.wait(30)
            assert child.stdout is not None
            child.stdout.close()
    assert writer.stats.frames_written == FRAMES
