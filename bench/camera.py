"""Camera throughput: FEE simulator -> SpaceWire over ZeroMQ -> DPU loop -> FrameWriter -> HDF5.

The FEE simulator runs in its own process (``python -m
controlroom.devices.camera.sim.server``) and streams full frames (both sides
of one CCD per pulse, 41 MB) to the DPU readout loop in this process, which
hands them to a FrameWriter (no compression, no fsync: the page cache takes
the writes, the kernel flushes them behind). Prints one JSON line::

    {"mb_per_s", "frames", "packets_lost", "writer_lag_max_s",
     "baseline_mb_per_s", "ratio", "incomplete_frames", "dpu_errors",
     "storage_waits", "verified_frames", "pixel_mismatches", "streamed_s",
     "rounds": [...], "fee": {...}, ...}

``mb_per_s`` counts frame bytes (pixels, HK, register map) written to HDF5
from the first image frame's write to the last one's within the round;
``incomplete_frames``, ``dpu_errors`` and ``storage_waits`` (frames the DPU
held while the writer's queue was full) are counted while streaming, before
the FEE is stopped (its stop cuts a readout short).
The baseline (``_camera_raw.py``) pushes the same packets over raw ZeroMQ
PUSH/PULL into chunked h5py datasets. Subject and baseline alternate in
rounds (A B A B ...); the figures are medians over rounds. ``packets_lost``
compares what the FEE says it sent (its exit counters) with what the DPU's
link received. Stored frames are checked pixel by pixel against the
simulator's images for the seed (``--verify`` frames per round, -1: all).

``--speed`` (default 100: 62.5 ms periods) is chosen so that a full-frame
readout takes longer than a period: the FEE then streams readouts back to
back, as fast as the link takes them, and the pulses that fall inside a
readout are missed (counted in ``fee.missed``; the DPU follows the frame
counter). The command window does not fit then, so the image mode is
commanded before the first readout.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _camera_raw import CHUNK_PIXELS, baseline_round, endpoint_for
from _camera_verify import verify
from _common import child
from controlroom.device.spacewire import SpaceWireOverZeroMQ
from controlroom.devices.camera.dpu import DpuLoop, SetRegister
from controlroom.devices.camera.dpu.state import DpuState
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.storage import FrameWriter
from controlroom.testing.waiting import wait_until

SETUP_S = 60.0  # longest wait for the first image frame, or for the link to drain
POLL_S = 0.01
LINK_QUEUE_PACKETS = 256  # as the FEE's: an RMAP reply queues behind few data packets


@dataclass
class Round:
    mb_per_s: float = 0.0
    frames: int = 0
    seconds: float = 0.0
    packets_lost: int = 0
    incomplete_frames: int = 0  # while streaming (the FEE's stop cuts one more)
    dpu_errors: int = 0  # while streaming
    storage_waits: int = 0  # frames the DPU had to wait for the writer to take
    frames_failed: int = 0
    writer_lag_max_s: float = 0.0
    verified: int = 0
    mismatches: int = 0
    fee: dict[str, int] = field(default_factory=dict)


def ready_endpoint(payload: str) -> str:
    """The FEE's ready line: ``host port`` on TCP, the endpoint on ipc."""
    parts = payload.split()
    return f"tcp://{parts[0]}:{parts[1]}" if len(parts) == 2 else parts[0]


def measure(writer: FrameWriter, seconds: float) -> tuple[float, int, float, float]:
    """(MB/s, frames, span, max lag) of the frames written ``seconds`` after the first image frame.

    The lag (reception of a frame's timecode to its write) is the writer's
    maximum up to the end of the window: the frame cut by the FEE's stop
    waits for a last packet that never comes, and is left out.
    """
    start = last = None  # (time, bytes, frames) when a frame had just been written
    seen = writer.stats
    deadline = time.monotonic() + SETUP_S
    while True:
        time.sleep(POLL_S)
        stats, now = writer.stats, time.monotonic()
        if stats.frames_written != seen.frames_written:
            if start is not None:
                last = (now, stats.bytes_written, stats.frames_written)
            elif stats.bytes_written - seen.bytes_written > 1_000_000:  # an image frame
                start = last = (now, stats.bytes_written, stats.frames_written)
            seen = stats
        if start is not None and now - start[0] >= seconds:
            break
        if start is None and now > deadline:
            raise RuntimeError(f"no image frame written within {SETUP_S} s")
    assert last is not None
    span = last[0] - start[0]
    rate = (last[1] - start[1]) / span / 1e6 if span else 0.0
    return rate, last[2] - start[2], span, stats.max_lag_s


def subject_round(args: argparse.Namespace, seconds: float) -> Round:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        fee, ready = stack.enter_context(
            child(
                "-m", "controlroom.devices.camera.sim.server",
                "--endpoint", endpoint_for(args.transport, folder),
                "--speed", str(args.speed), "--seed", str(args.seed),
                "--linger-s", str(SETUP_S),  # what is queued at its stop still reaches the DPU
            )
        )  # fmt: skip
        link = stack.enter_context(
            SpaceWireOverZeroMQ(ready_endpoint(ready), bind=False, queue_packets=LINK_QUEUE_PACKETS)
        )
        link.configure()
        writer = FrameWriter(  # the throughput settings: 2 MB chunks, no compression, no fsync
            folder / "frames", queue_frames=args.queue_frames, chunk_pixels=CHUNK_PIXELS,
            compression=None, fsync=False,
        )  # fmt: skip
        writer.start()
        loop = DpuLoop(link, writer, state=DpuState(speed=args.speed))
        runner = threading.Thread(target=loop.run, name="dpu-loop")
        runner.start()
        result = Round()
        try:
            command_image_mode(loop)
            figures = measure(writer, seconds)
            result.mb_per_s, result.frames, result.seconds, result.writer_lag_max_s = figures
            streamed = loop.counters  # before the stop, which cuts a readout short
            result.incomplete_frames, result.dpu_errors = (
                streamed.incomplete_frames,
                streamed.errors,
            )
            result.storage_waits = streamed.sink_behind
            fee.send_signal(signal.SIGTERM)  # stops after the packet being sent
            result.fee = stopped_counters(fee)
            sent = result.fee["packets_out"] + result.fee["timecodes_out"]
            received = lambda: link.counters.packets_in + link.counters.timecodes_in  # noqa: E731
            wait_until(lambda: received() >= sent, SETUP_S, every_s=0.05)
            result.packets_lost = sent - received()
        finally:
            loop.stop()
            runner.join()
            writer.close()
        stats = writer.stats
        result.frames_failed = stats.frames_failed
        result.verified, result.mismatches = verify(folder / "frames", args.seed, args.verify)
        return result


def command_image_mode(loop: DpuLoop, attempts: int = 10) -> None:
    """FULL_IMAGE from the next long pulse; a write the FEE saw outside its window is sent again.

    At 100x a command window is 22 ms: a FEE that starts a pulse late (its
    first pulses, while it builds its image tables) may refuse a write.
    """
    image_mode = SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE))
    for _ in range(attempts):
        reply = loop.commands.submit(image_mode).result(timeout=SETUP_S)
        if reply.ok:
            return
    raise RuntimeError(f"the FEE refused the image mode {attempts} times: {reply.error}")


def stopped_counters(fee: Any) -> dict[str, int]:
    """The counters the FEE prints as it exits (``STOPPED {json}``), flattened."""
    for line in fee.stdout:
        if line.startswith("STOPPED "):
            summary = json.loads(line[len("STOPPED ") :])
            pulses, link, pixels = summary["pulses"], summary["link"], summary["pixels"]
            names = ("pulses", "missed", "late_readouts", "abandoned_readouts", "fresh_starts")
            picked = {name: pulses[name] for name in names}
            picked |= {f"parts_{name}": pixels[name] for name in ("predicted", "not_predicted")}
            return picked | {name: link[name] for name in ("packets_out", "timecodes_out")}
    raise RuntimeError("the FEE simulator exited without its STOPPED line")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="of streaming, all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queue-frames", type=int, default=4)
    parser.add_argument("--verify", type=int, default=8, help="frames per round; -1: all")
    parser.add_argument("--transport", choices=("tcp", "ipc"), default="tcp")
    parser.add_argument("--dir", default=None, help="where the HDF5 files go (then removed)")
    args = parser.parse_args()
    seconds = args.seconds / args.rounds
    subjects: list[Round] = []
    baselines: list[float] = []
    for _ in range(args.rounds):
        subjects.append(subject_round(args, seconds))
        baselines.append(baseline_round(args.transport, args.dir, args.seed, seconds))
    print(json.dumps(summary(args, subjects, baselines)))


def summary(args: argparse.Namespace, subjects: list[Round], baselines: list[float]) -> dict:
    mb_per_s = statistics.median(r.mb_per_s for r in subjects)
    baseline = statistics.median(baselines)
    fee_total = {k: sum(r.fee.get(k, 0) for r in subjects) for k in subjects[0].fee}
    return {
        "mb_per_s": round(mb_per_s, 1),
        "frames": sum(r.frames for r in subjects),
        "packets_lost": sum(r.packets_lost for r in subjects),
        "writer_lag_max_s": round(max(r.writer_lag_max_s for r in subjects), 3),
        "baseline_mb_per_s": round(baseline, 1),
        "ratio": round(mb_per_s / baseline, 3) if baseline else None,
        "incomplete_frames": sum(r.incomplete_frames for r in subjects),
        "dpu_errors": sum(r.dpu_errors for r in subjects),
        "storage_waits": sum(r.storage_waits for r in subjects),
        "frames_failed": sum(r.frames_failed for r in subjects),
        "verified_frames": sum(r.verified for r in subjects),
        "pixel_mismatches": sum(r.mismatches for r in subjects),
        "streamed_s": round(sum(r.seconds for r in subjects), 2),
        "rounds": [
            {"mb_per_s": round(r.mb_per_s, 1), "baseline_mb_per_s": round(b, 1), "frames": r.frames}
            for r, b in zip(subjects, baselines, strict=True)
        ],
        "fee": fee_total,
        "speed": args.speed,
        "transport": args.transport,
    }


if __name__ == "__main__":
    main()
