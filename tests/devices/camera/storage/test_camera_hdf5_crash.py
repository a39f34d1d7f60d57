"""A writer killed with SIGKILL mid-frame: the earlier frames readable, the cut one marked."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from framemaker import digest, make_frame

from controlroom.devices.camera.storage import (
    CameraStorageError,
    FrameFileReader,
    FrameWriter,
    observation_files,
)

CUT_WRITER = Path(__file__).with_name("cut_writer.py")


def _kill_mid_frame(root: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CUT_WRITER), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "cut\n"  # frame 3 is half written now
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
        child.stdin.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.integration
def test_a_frame_cut_by_kill_9_is_incomplete_and_the_earlier_ones_whole(tmp_path: Path) -> None:
    _kill_mid_frame(tmp_path)
    [path] = observation_files(tmp_path, "OBS_0001")
    with FrameFileReader(path) as reader:
        entries = reader.entries()
        assert [(e.frame_counter, e.written, e.whole) for e in entries] == [
            (0, True, True),
            (1, True, True),
            (2, True, True),
            (3, False, False),
        ]
        whole = [digest(f) for f in reader.iter_complete()]
        assert whole == [digest(make_frame(i)) for i in range(3)]
        with pytest.raises(CameraStorageError, match="frame 3 was cut"):
            reader.read(3)
    # The next writer leaves the cut file as it is and starts a new part.
    with FrameWriter(tmp_path, queue_frames=2) as writer:
        writer.put(make_frame(3), block=True)
    files = observation_files(tmp_path, "OBS_0001")
    assert [p.name for p in files] == ["OBS_0001_camera.h5", "OBS_0001_camera_002.h5"]
    with FrameFileReader(files[1]) as reader:
        assert [digest(f) for f in reader.iter_complete()] == [digest(make_frame(3))]
