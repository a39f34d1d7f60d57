"""The DPU processor as a process of its own: the FEE link, the readout loop, storage, control.

Run it with::

    python -m controlroom.devices.camera.dpu.process --link tcp://127.0.0.1:5555 \\
        --root /data/camera [--control tcp://127.0.0.1:0] [--publish tcp://127.0.0.1:0] \\
        [--speed 1] [--compression none|gzip|lz4] [--queue-frames 16] [--settings PATH]

It connects the SpaceWire link to the FEE (``--link``, the FEE binds it),
writes frames under ``--root`` through a writer process of its own (h5py
would hold this process's GIL for each write: see
:mod:`~controlroom.devices.camera.storage.hdf5process`), binds its control
endpoint (:mod:`.endpoint`, a ROUTER; :class:`~.client.ProcessorClient`
talks to it) and its publications (:mod:`.publishing`, a PUB), prints one
ready line::

    READY {"control": "tcp://127.0.0.1:40001", "publish": "tcp://127.0.0.1:40002", "pid": 4242}

and runs the readout loop (:class:`~.loop.DpuLoop`) on its main thread. A
missing FEE is no reason to stop: the loop waits for timecodes and counts
the waits. SIGTERM or SIGINT stops the loop after the step it is in; the
commands still queued are failed, the writer writes every frame it took and
closes its file, the last line is ``STOPPED {counters}`` and the exit code 0.

``--speed`` must be the FEE's speed factor (its sync period is 6.25 s /
speed): the processor places the command window by it. ``--settings``: a
local Settings file whose ``security`` section makes every socket CURVE
(needed beyond loopback; SIGHUP reloads the keys).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import zmq

from controlroom.config.settings import SettingsError, load_settings
from controlroom.device.errors import DeviceError
from controlroom.device.spacewire import SpaceWireOverZeroMQ
from controlroom.devices.camera.dpu.endpoint import ControlEndpoint
from controlroom.devices.camera.dpu.loop import DpuLoop
from controlroom.devices.camera.dpu.publishing import DpuPublisher
from controlroom.devices.camera.dpu.state import DpuState
from controlroom.devices.camera.dpu.status import StatusBoard, loop_status
from controlroom.devices.camera.storage import FrameWriter
from controlroom.rpc import RpcError, curve, endpoints
from controlroom.rpc.process import READY_PREFIX

_LOG = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A wait on the link lasts this long at most before the loop serves its requests again (in
# the command window a request ends the wait at once): what a priority request may wait for.
POLL_S = 0.002
LINK_SEND_S = 1.0  # an RMAP request that cannot leave for this long: the FEE is away
RMAP_REPLY_S = 0.5  # the FEE answers between packets: far quicker than this
# Packets waiting on the link: a few MB, so an RMAP reply (read back after each readout) waits
# behind at most a fraction of a frame.
LINK_QUEUE_PACKETS = 256
# The loop, the writer's thread and the control endpoint share one GIL. A thread woken by a
# request (the endpoint) waits for the GIL up to this long while another one computes:
# Python's 5 ms would be most of a priority request's 10 ms.
SWITCH_INTERVAL_S = 0.001
EXPECTED = (DeviceError, RpcError, SettingsError, OSError, zmq.ZMQError)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m controlroom.devices.camera.dpu.process",
        description="The DPU processor: reads the camera FEE, stores frames, sends commands.",
    )
    parser.add_argument("--link", required=True, help="the FEE's SpaceWire endpoint (tcp/ipc)")
    parser.add_argument("--root", required=True, type=Path, help="folder of the HDF5 frames")
    parser.add_argument("--control", default="tcp://127.0.0.1:0", help="control endpoint")
    parser.add_argument("--publish", default="tcp://127.0.0.1:0", help="publish endpoint")
    parser.add_argument("--speed", type=float, default=1.0, help="the FEE's speed factor")
    parser.add_argument("--compression", choices=("none", "gzip", "lz4"), default="none")
    parser.add_argument("--queue-frames", type=int, default=16, help="frames the writer queues")
    parser.add_argument("--settings", type=Path, help="local Settings (security: CURVE keys)")
    parser.add_argument(
        "--parent", type=int, help="stop when this process (the control server) is gone"
    )
    parser.add_argument("--debug", action="store_true", help="debug logs")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the processor until SIGTERM or SIGINT; see the module docstring."""
    args = parser().parse_args(argv)
    if not 0 < args.speed <= 1000:
        parser().error(f"--speed {args.speed}: use a factor above 0 and at most 1000")
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, format=LOG_FORMAT, stream=sys.stderr
    )
    try:
        if args.settings is not None:
            curve.secure_process(load_settings(args.settings))
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # this whole process is the processor
        summary = serve(args, sys.stdout)
    except EXPECTED as error:
        if args.debug:
            raise
        sys.exit("error: DPU processor: " + (" ".join(str(error).split()) or type(error).__name__))
    try:
        print("STOPPED " + json.dumps(summary), flush=True)
    except OSError:  # a parent that stopped listening: nothing to tell, nothing to flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def serve(args: argparse.Namespace, ready: TextIO) -> dict[str, Any]:
    """Build everything, print the ready line, run the loop until a signal; the counters."""
    context: zmq.Context[Any] = zmq.Context.instance()
    # The link stands in for the SpaceWire cable to the FEE, which has no CURVE: it gets a
    # plain context of its own (the FEE simulator binds it on loopback only).
    link_context: zmq.Context[Any] = zmq.Context()
    link = SpaceWireOverZeroMQ(
        args.link, bind=False, context=link_context, send_timeout_s=LINK_SEND_S,
        reply_timeout_s=RMAP_REPLY_S, linger_s=0.0, queue_packets=LINK_QUEUE_PACKETS,
        name=f"DPU link to {args.link}",
    )  # fmt: skip
    compression = None if args.compression == "none" else args.compression
    writer = FrameWriter(
        args.root, queue_frames=args.queue_frames, compression=compression, separate_process=True
    )
    writer.start()  # its process is up before the link is: the FEE's stream never waits for it
    try:
        with contextlib.ExitStack() as stack:  # closed in reverse: the writer drains first
            stack.callback(link_context.term)
            stack.enter_context(link)
            publisher = DpuPublisher(args.publish, context=context)
            stack.callback(publisher.close)
            loop = DpuLoop(
                link, writer, state=DpuState(speed=args.speed), publish=publisher, poll_s=POLL_S
            )
            board = StatusBoard(writer, os.getpid())
            control = ControlEndpoint(
                args.control, loop.commands, loop.priorities, board.snapshot, context=context,
                mirror=lambda: loop.mirror,
            )  # fmt: skip
            stack.callback(control.stop)
            stack.callback(writer.close)
            stop_on_signals(loop)
            if args.parent is not None:
                stop_with_parent(loop, args.parent)
            control.start()
            board.update(loop_status(loop))
            print(ready_line(control.endpoint, publisher.endpoint), file=ready, flush=True)
            _LOG.info("DPU processor: reading the FEE on %s, frames under %s", args.link, args.root)
            loop.run(after_each=lambda _: board.update(loop_status(loop)))
    finally:
        writer.close()  # after a failure before its turn above (a second close does nothing)
    return {"loop": loop.counters.as_dict(), "writer": board.snapshot()["writer"]}


def ready_line(control: str, publish: str) -> str:
    """``READY {"control": ..., "publish": ..., "pid": ...}`` (parse it with rpc.process)."""
    info = {
        "control": endpoints.connectable(control),
        "publish": endpoints.connectable(publish),
        "pid": os.getpid(),
    }
    return READY_PREFIX + json.dumps(info)


def stop_on_signals(loop: DpuLoop) -> None:
    """SIGTERM and SIGINT make the loop return after the step it is in."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: loop.stop())


def stop_with_parent(loop: DpuLoop, parent: int) -> None:
    """Stop the loop as SIGTERM would once ``parent`` has exited: a control server that
    crashed cannot stop its processor, which would hold the FEE link and the files."""
    try:
        pidfd = os.pidfd_open(parent)
    except OSError:  # gone already (or no pidfd here): nothing to serve
        if not _alive(parent):
            loop.stop()
        return

    def watch() -> None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll()  # until the parent exits: no polling
        os.close(pidfd)
        _LOG.warning("DPU processor: its control server (pid %d) is gone; stopping", parent)
        loop.stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    main()
