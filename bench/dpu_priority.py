"""Priority latency: a read of the DPU answers within milliseconds wherever the cycle is.

The FEE simulator (its own process) streams full-frame readouts (41 MB per
pulse, at the CCD's pace over the readout phase as the instrument sends them;
``--burst``: as fast as the link takes them) at each speed of ``--speeds``:
1 is the instrument's own timing (6.25 s periods, 25 s cycles), 8 eight times
faster (781 ms periods: 82 MB/s to store, which saturates two cores). The DPU
control server (a ControlServer with a DpuController in this process, as
the tests serve it) starts its processor process, which reads the FEE and
writes every frame to HDF5. For ``--seconds`` (at least two camera cycles:
50 s at speed 1) the bench then calls, in turn, with a random pause of up
to ``--gap-ms`` between calls:

* ``proxy``: ``get_mode`` and ``get_frame_counter`` through a proxy (proxy ->
  control server -> ProcessorClient -> processor's priority queue -> back);
* ``processor``: ``ProcessorClient.query("mode")`` and ``("frame_counter")``
  straight to the processor;
* ``raw``: a pyzmq REQ round trip to a ROUTER echo process, the floor.

Each call is stamped with the cycle phase it started in (see
:mod:`_dpu_phases`: ``readout`` from the timecode to the read-back,
``window`` after it). Then the processor is stopped and ``--verify`` stored
image frames are checked pixel-exact against the simulator's images.

``--rounds`` rounds alternate the speeds (1, 8, 1, 8, ...), each a fresh
FEE, server and processor. Prints one JSON line::

    {"speeds": {speed: {"proxy_p50_ms", "proxy_p99_ms", "proxy_max_ms",
     "processor_...", "raw_...", "by_phase": {phase: {kind: {p50_ms, p99_ms,
     max_ms, samples, rounds}}}}}, "rounds": [per round: speed, the same
     figures, "worst", "periods", "frames_written", "verified", "mismatches",
     "processor_waits", "load"], "load_before", "load_after"}

(per speed: the median over its rounds of each figure). The target:
``proxy_max_ms`` (or at least ``proxy_p99_ms``) under 10 ms in every phase;
``raw`` is the floor any request over ZeroMQ meets on this machine now.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import zmq

from _camera_processor import IMAGE_BYTES, SETUP_S
from _camera_verify import verify
from _common import child, endpoint_of
from _dpu_phases import CycleWatch, Sample, by_phase, figures, medians, worst
from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.camera.control import DpuController
from controlroom.devices.camera.dpu import ProcessorClient
from controlroom.devices.camera.dpu.waits import bucket_names
from controlroom.rpc import ControlServer
from controlroom.testing.waiting import wait_until

Call = Callable[[], object]
WARM_UP_CALLS = 20  # per kind, before anything is measured: connections, first imports
CYCLE_S = 25.0  # a camera cycle (four pulses) at speed 1
SEED = 0  # the FEE simulator's default: what the stored pixels are checked against


def ready_endpoint(payload: str) -> str:
    host, port = payload.split()
    return f"tcp://{host}:{port}"


def raw_round_trip(endpoint: str) -> Call:
    """One REQ/REP round trip of a small message through the echo process."""
    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    body = b"\x81\xa4kind\xa5query"  # about what a query weighs

    def once() -> object:
        socket.send(body)
        return socket.recv()

    return once


def sample(
    calls: list[tuple[str, Call]], watch: CycleWatch, seconds: float, gap_s: float
) -> list[Sample]:
    """Call each in turn (shuffled per turn) for ``seconds``; every latency with its phase."""
    samples: list[Sample] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    while clock() < deadline:
        turn = calls[:]
        random.shuffle(turn)
        for kind, call in turn:
            time.sleep(random.uniform(0.0, gap_s))
            phase, since = watch.phase(time.monotonic())
            start = clock()
            call()
            samples.append(Sample(kind, clock() - start, phase, since))
    return samples


def session(args: argparse.Namespace, speed: float) -> dict[str, Any]:
    """One round at ``speed``: start everything, sample, stop, verify; its figures."""
    seconds = max(args.seconds, 2 * CYCLE_S / speed)
    load = [round(x, 2) for x in psutil.getloadavg()]
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        fee_argv = ("--endpoint", "tcp://127.0.0.1:0", "--speed", f"{speed:g}")
        fee_argv += ("--burst",) if args.burst else ()
        _, ready = stack.enter_context(
            child("-m", "controlroom.devices.camera.sim.server", *fee_argv)
        )
        _, echo = stack.enter_context(child("bench/_servers.py", "echo"))
        root = folder / "frames"
        controller = DpuController(ready_endpoint(ready), root=str(root), speed=speed)
        server = ControlServer("dpu", DeviceService(controller))
        server.start()
        stack.callback(server.stop)
        if not wait_until(lambda: controller.status()["synced"], SETUP_S):
            raise RuntimeError(f"the DPU processor never synced: {controller.status()}")
        proxy = make_proxy(DpuController, server.endpoint, timeout=SETUP_S)
        stack.callback(proxy.close)
        proxy.full_image()  # full frames, both sides, from the next long pulse
        # The bench reaches the processor as the controller does (its status names only
        # the publish endpoint; the control endpoint is the supervisor's).
        supervision = controller._link.supervision()
        client = stack.enter_context(ProcessorClient(supervision["control"], timeout_s=SETUP_S))
        written = lambda: client.status()["writer"]["bytes_written"]  # noqa: E731
        if not wait_until(lambda: written() > IMAGE_BYTES, SETUP_S, every_s=0.05):
            raise RuntimeError("no image frame was written")
        watch = stack.enter_context(CycleWatch(supervision["publish"]))
        if not watch.wait_for_timecodes(2, SETUP_S):
            raise RuntimeError("no timecodes published")
        calls: list[tuple[str, Call]] = [
            ("proxy", proxy.get_mode), ("proxy", proxy.get_frame_counter),
            ("processor", lambda: client.query("mode")),
            ("processor", lambda: client.query("frame_counter")),
            ("raw", raw_round_trip(endpoint_of(echo))),
        ]  # fmt: skip
        for _ in range(WARM_UP_CALLS):
            for _, call in calls:
                call()
        before = client.status()
        timecodes = watch.timecodes
        samples = sample(calls, watch, seconds, args.gap_ms / 1e3)
        after = client.status()
        periods = watch.timecodes - timecodes
        server.stop()  # the processor drains its writer and closes its file
        checked, mismatches = verify(root, SEED, args.verify)
    result = summary(samples, periods, before, after)
    return result | {
        "speed": speed, "seconds": seconds, "verified": checked, "mismatches": mismatches,
        "load": load,
    }  # fmt: skip


def summary(samples: list[Sample], periods: int, before: dict, after: dict) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind in ("proxy", "processor", "raw"):
        for name, value in figures([s.latency_s for s in samples if s.kind == kind]).items():
            if name != "samples":
                result[f"{kind}_{name}"] = value
    frames = after["writer"]["frames_written"] - before["writer"]["frames_written"]
    written = after["writer"]["bytes_written"] - before["writer"]["bytes_written"]
    result |= {
        "by_phase": by_phase(samples),
        "samples": len(samples),
        "worst": {kind: worst(samples, kind) for kind in ("proxy", "processor")},
        "periods": periods,
        "frames_written": frames,
        "mb_written": round(written / 1e6, 1),
        "priority_served": after["counters"]["priority_served"],
        # Queries the control endpoint answered from the loop's mirror (0 before it did).
        "answered_from_mirror": after["control"].get("mirrored", 0),
        # What the processor counted: from a request taken to its answer (its own part).
        "processor_waits": {
            name: after["priority_waits"][name] - before["priority_waits"][name]
            for name in bucket_names()
        }
        | {"longest_ms_since_start": after["priority_waits"]["longest_ms"]},
    }
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Rounds alternating the speeds; per speed the medians over its rounds."""
    load_before = [round(x, 2) for x in psutil.getloadavg()]
    rounds = [session(args, speed) for _ in range(args.rounds) for speed in args.speeds]
    by_speed: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for result in rounds:
        by_speed[result["speed"]].append(result)
    return {
        "speeds": {f"{speed:g}": medians(results) for speed, results in by_speed.items()},
        "rounds": rounds,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in psutil.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="of sampling (>= 2 cycles)")
    parser.add_argument(
        "--speeds", type=speeds, default=[1.0, 8.0], help="the FEE's speed factors, e.g. 1,8"
    )
    parser.add_argument("--rounds", type=int, default=1, help="of each speed, alternating")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="longest pause between calls")
    parser.add_argument("--verify", type=int, default=4, help="frames checked per round")
    parser.add_argument("--dir", default=None, help="where the HDF5 files go (then removed)")
    parser.add_argument("--burst", action="store_true", help="readouts as fast as the link goes")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    print(json.dumps(run(args)))


def speeds(text: str) -> list[float]:
    values = [float(part) for part in text.split(",")]
    if not values or any(not 0 < v <= 100 for v in values):
        raise argparse.ArgumentTypeError(f"speed factors in (0, 100], comma-separated: {text!r}")
    return values


if __name__ == "__main__":
    main()
