"""The subject of bench/camera.py: the DPU processor process, as the DPU control server runs it.

:func:`processor` starts ``python -m controlroom.devices.camera.dpu.process``
with the argv the control server builds (:func:`processor_argv` of its
options), waits for its ready line and stops it by its handle at the end.
Everything measured is read from the processor's own status over its
control endpoint (:class:`ProcessorClient`): the writer's counters (bytes,
frames, lag, the time of the last write), the loop's counters and the
link's. :func:`stopped` ends it with SIGTERM and returns its ``STOPPED``
counters, once the writer has closed its file.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.devices.camera.control.options import DpuOptions, processor_argv
from controlroom.devices.camera.dpu import ProcessorClient, SetRegister
from controlroom.devices.camera.modes import FeeMode
from controlroom.rpc.child import Child
from controlroom.rpc.process import parse_ready_line

SETUP_S = 60.0  # longest wait for a ready line, the first image frame, or the link to drain
POLL_S = 0.02  # between status requests: the writes are timed by the writer, not by the polls
IMAGE_BYTES = 1_000_000  # a frame this big carries pixels (a frame without is a few kB)


@dataclass
class Running:
    """A processor process and a client on its control endpoint."""

    child: Child
    client: ProcessorClient

    def writer(self) -> dict[str, Any]:
        return dict(self.client.status()["writer"])


@dataclass
class Window:
    """The frames written in one measuring window, timed by the writer."""

    mb_per_s: float
    frames: int
    seconds: float
    lag_max_s: float


@contextmanager
def processor(link: str, root: Path, speed: float, queue_frames: int | None) -> Iterator[Running]:
    """The processor on the FEE's ``link`` (its defaults unless ``queue_frames``); stopped after."""
    extra = {} if queue_frames is None else {"queue_frames": queue_frames}
    argv = processor_argv(link, DpuOptions.checked(root=root, speed=speed, **extra))
    child = Child.spawn("DPU processor", argv, log_path=None)  # its log: our stderr
    try:
        info = child.wait_ready(parse_ready_line, SETUP_S)
        with ProcessorClient(str(info["control"]), timeout_s=SETUP_S) as client:
            yield Running(child, client)
    finally:
        child.stop()


def command_image_mode(dpu: ProcessorClient, attempts: int = 10) -> None:
    """FULL_IMAGE from the next long pulse; a write the FEE saw outside its window is sent again.

    At 100x a command window is 22 ms: a FEE that starts a pulse late (its
    first pulses, while it builds its image tables) may refuse a write.
    """
    image_mode = SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE))
    record: dict[str, Any] = {}
    for _ in range(attempts):
        record = dpu.submit(image_mode).result(timeout=SETUP_S)
        if record["status"] == 0 and not record["error"]:
            return
    raise RuntimeError(f"the FEE refused the image mode {attempts} times: {record}")


def measure(dpu: Running, seconds: float) -> Window:
    """The frames written from the first image frame's write to the last one ``seconds`` later.

    Each poll sees the writer's counters and when it wrote its last frame, so
    the window is timed by the writes themselves. The lag (a frame's
    timecode to its write) is the writer's maximum up to the window's end:
    the frame cut by the FEE's stop is left out.
    """
    start = last = None
    seen = dpu.writer()
    deadline = time.monotonic() + SETUP_S
    while True:
        time.sleep(POLL_S)
        stats = dpu.writer()
        if stats["frames_written"] != seen["frames_written"]:
            if start is not None:
                last = stats
            elif stats["bytes_written"] - seen["bytes_written"] > IMAGE_BYTES:
                start = last = stats
            seen = stats
        if start is not None and time.time() - start["last_written_s"] >= seconds:
            break
        if start is None and time.monotonic() > deadline:
            raise RuntimeError(f"no image frame written within {SETUP_S} s")
    assert last is not None
    span = last["last_written_s"] - start["last_written_s"]
    rate = (last["bytes_written"] - start["bytes_written"]) / span / 1e6 if span else 0.0
    return Window(rate, last["frames_written"] - start["frames_written"], span, stats["max_lag_s"])


def received(dpu: Running) -> int:
    """Packets and timecodes the processor's link took (its status, updated every period)."""
    link = dpu.client.status()["link"]
    return int(link["packets_in"]) + int(link["timecodes_in"])


def stopped(dpu: Running) -> dict[str, Any]:
    """SIGTERM; the ``STOPPED`` counters it prints once its writer closed its file."""
    dpu.child.signal(signal.SIGTERM)
    line = dpu.child.read_ready(lambda s: s[8:] if s.startswith("STOPPED ") else None, SETUP_S)
    if line is None:
        raise RuntimeError(f"the DPU processor did not stop cleanly: {dpu.child.stderr_tail()}")
    dpu.child.process.wait(SETUP_S)
    return dict(json.loads(line))
