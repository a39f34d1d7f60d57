"""The writer process of a `FrameWriter` made with ``separate_process=True`` (see `.hdf5process`).

``python -m controlroom.devices.camera.storage.writerchild --fd N --parent PID --root DIR
--chunk-pixels N [--compression none|gzip|lz4] [--fsync] [--slots-fd FD --slots N
--slot-bytes B]``: it says it is ready on the
socket ``N`` it inherited, then stores every frame and frame start that comes on it
with a `FileSeries`, replying to each (``ok``, the ``error`` if not, the current
``file``), until the parent sends STOP (then it closes its file, replies once more
with ``stopped`` and exits) or the stream ends. It ignores SIGTERM, SIGINT and SIGHUP, which its
process group may get, and is killed when its parent dies.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from controlroom.devices.camera.storage import framewire
from controlroom.devices.camera.storage.hdf5file import WHOLE
from controlroom.devices.camera.storage.hdf5series import FileSeries
from controlroom.devices.camera.storage.pixelslots import PixelSlots

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(sock: socket.socket, files: FileSeries, slots: PixelSlots | None = None) -> None:
    """Store what comes on ``sock`` until STOP or the end of the stream, replying to each."""
    framewire.send_reply(sock, {"ok": True, "file": ""})
    while True:
        try:
            item = framewire.receive_item(sock, slots)
        except EOFError:  # the parent went away without a word: nothing more will come
            break
        if isinstance(item, str):  # STOP: every frame is written
            break
        reply: dict[str, object] = {"ok": True}
        try:
            files.store(item)
        except Exception as exc:  # told to the parent, which counts it; the file is closed
            log.exception("camera frame %d not stored", item.frame_counter)
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        del item  # its pixels may be views on a slot the parent reuses once it has the reply
        framewire.send_reply(sock, reply | {"file": files.current_file})
    files.close()
    with contextlib.suppress(OSError):
        framewire.send_reply(sock, {"ok": True, "stopped": True, "file": files.current_file})


def die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux); exit now if it is gone already."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit("error: camera writer process: its parent is gone")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Writes a DPU processor's camera files.")
    parser.add_argument("--fd", type=int, required=True, help="the socket to the parent")
    parser.add_argument("--parent", type=int, required=True, help="the parent's PID")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--chunk-pixels", type=int, required=True)
    parser.add_argument("--compression", choices=("none", "gzip", "lz4"), default="none")
    parser.add_argument("--fsync", action="store_true")
    parser.add_argument("--slots-fd", type=int, help="the shared pixel slots (a memfd)")
    parser.add_argument("--slots", type=int, default=0, help="how many slots it holds")
    parser.add_argument("--slot-bytes", type=int, default=0, help="bytes per slot")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    die_with(args.parent)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    compression = None if args.compression == "none" else args.compression
    files = FileSeries(args.root, chunk_pixels=args.chunk_pixels, compression=compression,
                       fsync=args.fsync, write_slice_bytes=WHOLE)  # fmt: skip
    slots = None
    if args.slots_fd is not None:
        slots = PixelSlots(args.slots, args.slot_bytes, fd=args.slots_fd)
    with socket.socket(fileno=args.fd) as sock:
        serve(sock, files, slots)


if __name__ == "__main__":
    main()
