"""Camera throughput: FEE simulator -> SpaceWire over ZeroMQ -> DPU processor process -> HDF5.

The FEE simulator runs in its own process (``python -m
controlroom.devices.camera.sim.server``) and streams full frames (both sides
of one CCD per pulse, 41 MB) to the DPU processor, which runs as the DPU
control server runs it: its own process (``python -m
controlroom.devices.camera.dpu.process``, its default link queue, writer
queue and publications; no compression, no fsync: the page cache takes the
writes, the kernel flushes them behind). Every figure of the subject comes
from the processor's status over its control endpoint. Prints one JSON line::

    {"mb_per_s", "frames", "packets_lost", "writer_lag_max_s",
     "baseline_mb_per_s", "ratio", "incomplete_frames", "dpu_errors",
     "storage_waits", "verified_frames", "pixel_mismatches", "streamed_s",
     "rounds": [...], "fee": {...}, "processor": {...}, ...}

``mb_per_s`` counts frame bytes (pixels, HK, register map) written to HDF5
from the first image frame's write to the last one's within the round, as
the writer timed them; ``incomplete_frames``, ``dpu_errors`` and
``storage_waits`` (frames the DPU held while the writer's queue was full)
are counted while streaming, before the FEE is stopped (its stop cuts a
readout short).
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
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _camera_processor import SETUP_S, command_image_mode, measure, processor, received, stopped
from _camera_raw import baseline_round, endpoint_for
from _camera_verify import verify
from _common import child
from controlroom.testing.waiting import wait_until

# The processor's loop counters added up over the rounds (from its STOPPED line).
PROCESSOR_COUNTERS = ("cycles", "frames", "unexpected_packets", "priority_served", "resyncs")


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
    processor: dict[str, int] = field(default_factory=dict)


def ready_endpoint(payload: str) -> str:
    """The FEE's ready line: ``host port`` on TCP, the endpoint on ipc."""
    parts = payload.split()
    return f"tcp://{parts[0]}:{parts[1]}" if len(parts) == 2 else parts[0]


def subject_round(args: argparse.Namespace, seconds: float) -> Round:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        fee, ready = stack.enter_context(
            child(
                "-m", "controlroom.devices.camera.sim.server",
                "--endpoint", endpoint_for(args.transport, folder),
                "--speed", str(args.speed), "--seed", str(args.seed), "--burst",
                "--linger-s", str(SETUP_S),  # what is queued at its stop still reaches the DPU
            )
        )  # fmt: skip
        root = folder / "frames"
        dpu = stack.enter_context(
            processor(ready_endpoint(ready), root, args.speed, args.queue_frames)
        )
        command_image_mode(dpu.client)
        window = measure(dpu, seconds)
        streamed = dpu.client.status()["counters"]  # before the stop, which cuts a readout short
        result = Round(
            mb_per_s=window.mb_per_s, frames=window.frames, seconds=window.seconds,
            writer_lag_max_s=window.lag_max_s, incomplete_frames=streamed["incomplete_frames"],
            dpu_errors=streamed["errors"], storage_waits=streamed["sink_behind"],
        )  # fmt: skip
        fee.send_signal(signal.SIGTERM)  # stops after the packet being sent
        result.fee = stopped_counters(fee)
        sent = result.fee["packets_out"] + result.fee["timecodes_out"]
        wait_until(lambda: received(dpu) >= sent, SETUP_S, every_s=0.05)
        result.packets_lost = sent - received(dpu)
        summary = stopped(dpu)  # the writer wrote all it took and closed its file
        result.frames_failed = summary["writer"]["frames_failed"]
        result.processor = {name: summary["loop"][name] for name in PROCESSOR_COUNTERS}
        result.verified, result.mismatches = verify(root, args.seed, args.verify)
        return result


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
    parser.add_argument(
        "--queue-frames",
        type=int,
        default=None,
        help="the writer's queue (the processor's default)",
    )
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
        "processor": {k: sum(r.processor.get(k, 0) for r in subjects) for k in PROCESSOR_COUNTERS},
        "speed": args.speed,
        "transport": args.transport,
    }


if __name__ == "__main__":
    main()
