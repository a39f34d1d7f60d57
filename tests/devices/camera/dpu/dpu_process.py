"""The DPU processor process for tests: started against the FEE simulator process, by handle.

Both run faster than real time (``SPEED``): a sync period of 6.25 s / SPEED.
The readouts are partial (a few rows and columns), set by register commands
through the processor itself, and stored frames are compared with the
simulator's deterministic synthetic images.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from controlroom.device.spacewire import DataPacket
from controlroom.devices.camera.cycle import readout_ccd
from controlroom.devices.camera.dpu import SetRegister
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.geometry import Readout, Side, sides_from_sensor_sel
from controlroom.devices.camera.images import synthetic_image
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.storage import (
    Frame,
    FrameEntry,
    FrameFileReader,
    observation_files,
)
from controlroom.rpc.child import Child, module_argv
from controlroom.rpc.process import parse_ready_line
from controlroom.testing.waiting import wait_until

_CAMERA_TESTS = str(Path(__file__).resolve().parents[1])
if _CAMERA_TESTS not in sys.path:
    sys.path.append(_CAMERA_TESTS)  # fee_dpu: the FEE simulator process, shared with its tests
from fee_dpu import fee_process  # noqa: E402

__all__ = ["fee_process"]

SEED = 7
SPEED = 20.0  # 312 ms periods, a 100 ms command window
READY_S = 30.0
WAIT_S = 20.0  # a bound on waits for frames and replies; never reached when all goes well
DEFAULT_ORDER = 228  # ccd_readout_order: CCDs 1, 2, 3, 4


@dataclass(frozen=True)
class PartialReadout:
    """A readout geometry, and the register commands that ask the FEE for it."""

    v_start: int = 100
    v_end: int = 163
    h_end: int = 99
    sensor_sel: int = 3
    packet_size: int = 2048

    @property
    def readout(self) -> Readout:
        return Readout(
            self.v_start, self.v_end, self.h_end, sides_from_sensor_sel(self.sensor_sel),
            self.packet_size,
        )  # fmt: skip

    def commands(self) -> list[SetRegister]:
        """The readout, then FULL_IMAGE: all loaded together on the next long pulse."""
        fields = ("v_start", "v_end", "h_end", "sensor_sel", "packet_size")
        return [SetRegister(name, getattr(self, name)) for name in fields] + [
            SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE))
        ]


SMALL = PartialReadout()


@dataclass(frozen=True)
class Processor:
    """A running processor: its child process and what its ready line said."""

    child: Child
    control: str
    publish: str
    pid: int


@contextmanager
def processor_process(
    link: str, root: Path, log: Path, *, speed: float = SPEED, options: tuple[str, ...] = ()
) -> Iterator[Processor]:
    """``python -m controlroom.devices.camera.dpu.process`` on ``link``; stopped at the end."""
    argv = module_argv(
        "controlroom.devices.camera.dpu.process",
        *("--link", link, "--root", str(root), "--speed", f"{speed:g}", *options),
    )
    child = Child.spawn("DPU processor", argv, log_path=log)
    try:
        info: dict[str, Any] = child.wait_ready(parse_ready_line, READY_S)
        yield Processor(child, str(info["control"]), str(info["publish"]), int(info["pid"]))
    finally:
        child.stop()


def stopped(child: Child) -> dict[str, Any]:
    """SIGTERM, then the counters it prints as it exits; its exit code must be 0."""
    child.signal(signal.SIGTERM)
    line = child.read_ready(lambda s: s[8:] if s.startswith("STOPPED ") else None, READY_S)
    assert line is not None, f"no STOPPED line; stderr: {child.stderr_tail()}"
    assert child.process.wait(READY_S) == 0
    return dict(json.loads(line))


def whole_image_frames(path: Path) -> list[Frame]:
    """The whole frames with pixels in one camera file, as written so far."""
    with FrameFileReader(path) as reader:
        entries: list[FrameEntry] = reader.entries()
        frames = [reader.read(e.position) for e in entries if e.whole]
    return [frame for frame in frames if frame.images]


def last_file(root: Path, obsid: str) -> Path | None:
    """The newest file part of observation ``obsid`` under ``root``, if any."""
    files = observation_files(root, obsid) if root.exists() else []
    return files[-1] if files else None


def image_frames(root: Path, obsid: str, count: int) -> list[Frame]:
    """The first ``count`` whole image frames in the newest file of ``obsid``, once written."""
    found: list[Frame] = []

    def enough() -> bool:
        path = last_file(root, obsid)
        found[:] = whole_image_frames(path) if path is not None else []
        return len(found) >= count

    assert wait_until(enough, WAIT_S, every_s=0.05), f"{len(found)} image frames of {obsid}"
    return found[:count]


def assert_pixel_exact(frame: Frame, readout: PartialReadout) -> None:
    """``frame`` holds the simulator's synthetic pixels of its CCD, every side read out."""
    geometry = readout.readout
    ccd = readout_ccd(DEFAULT_ORDER, frame.frame_counter % 4)
    sides = {(ccd, str(side)) for side in geometry.sides}
    assert set(frame.images) == sides and set(frame.overscan) == sides
    for side in geometry.sides:
        image = synthetic_image(
            SEED, frame.frame_counter, ccd, Side(side), geometry.rows, geometry.columns
        )
        overscan = synthetic_image(
            SEED, frame.frame_counter, ccd, Side(side), geometry.rows, geometry.overscan_columns
        )
        assert np.array_equal(frame.images[ccd, str(side)], image)
        assert np.array_equal(frame.overscan[ccd, str(side)], overscan)


def into_a_readout(monitoring: DpuMonitoring, packets: int) -> int:
    """The frame counter of a readout of which ``packets`` data packets were published."""
    seen: Counter[int] = Counter()
    while True:
        found = monitoring.next(timeout_s=WAIT_S)
        assert found is not None, "no data packets published"
        packet = found[1][0]  # type: ignore[index]
        assert isinstance(packet, DataPacket)
        seen[packet.frame_counter] += 1
        if seen[packet.frame_counter] == packets:
            return packet.frame_counter


def in_flight(root: Path, obsid: str, frame_counter: int) -> bool:
    """Whether the file has a row for ``frame_counter`` that is not written yet."""
    path = last_file(root, obsid)
    assert path is not None
    with FrameFileReader(path) as reader:
        rows = [entry for entry in reader.entries() if entry.frame_counter == frame_counter]
    return len(rows) == 1 and not rows[0].written
