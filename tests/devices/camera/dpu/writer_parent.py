"""A child process for the writer-process tests: a parent that writes one frame, then waits.

``python writer_parent.py ROOT`` starts a `FrameWriter` with a writer process,
has it store one frame, prints ``WRITER <pid of the writer process>`` and
waits on its standard input until the test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
from writer_frames import frame

from controlroom.devices.camera.storage import FrameWriter


def main() -> None:
    writer = FrameWriter(Path(sys.argv[1]), queue_frames=2, separate_process=True).start()
    writer.put(frame(0), block=True)
    assert writer.drain(60.0)
    [child] = psutil.Process().children()
    print(f"WRITER {child.pid}", flush=True)
    sys.stdin.read()  # never returns: the test kills this process here


if __name__ == "__main__":
    main()
