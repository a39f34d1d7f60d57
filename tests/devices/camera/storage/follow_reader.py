"""A child process for the SWMR test: follow a camera file while another process writes it.

``python follow_reader.py PATH COUNT`` opens the file, prints ``opened``, then
reads each frame as soon as the index says it is written and prints
``frame <counter> <digest>``, until COUNT frames were read.
"""

from __future__ import annotations

import sys
import time

from framemaker import digest

from controlroom.devices.camera.storage import FrameFileReader


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    with FrameFileReader(path) as reader:
        print("opened", flush=True)
        done = 0
        while done < count:
            reader.refresh()
            entries = reader.entries()
            while done < len(entries) and entries[done].written:
                frame = reader.read(done)
                print(f"frame {frame.frame_counter} {digest(frame)}", flush=True)
                done += 1
            time.sleep(0.001)  # a follower polls the file: HDF5 has no change notification


if __name__ == "__main__":
    main()
