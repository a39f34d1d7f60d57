"""A child process for the crash test: frames 0-2 whole, frame 3 cut mid-pixels, then killed.

``python cut_writer.py ROOT`` writes with a `FrameWriter`; in frame 3 it stops
after handing the first CCD side's pixels to HDF5 (not flushed), prints ``cut`` and waits
on its standard input until the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from framemaker import make_frame

from controlroom.devices.camera.storage import FrameWriter
from controlroom.devices.camera.storage.hdf5file import FrameFile

CUT_FRAME = 3
_write_heap = FrameFile._write_heap


def _write_heap_then_stop(self: FrameFile, name: str, data: object) -> None:
    _write_heap(self, name, data)  # type: ignore[arg-type]
    if self.frames == CUT_FRAME and name.startswith("images/"):
        print("cut", flush=True)
        sys.stdin.read()  # never returns: the test kills this process here


def main() -> None:
    FrameFile._write_heap = _write_heap_then_stop  # type: ignore[method-assign]
    writer = FrameWriter(Path(sys.argv[1]), queue_frames=8).start()
    for counter in range(CUT_FRAME + 1):
        writer.put(make_frame(counter), block=True)
    writer.drain()


if __name__ == "__main__":
    main()
