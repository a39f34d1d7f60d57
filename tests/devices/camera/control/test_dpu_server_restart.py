"""kill -9 of the DPU processor mid-readout: the control server restarts it and goes on.

The readout (400 rows of one side, about 55 data packets) is caught on its
way: once some of its packets were published, the processor is stopped
(SIGSTOP) and its file looked at; if that frame's row is there and not
written, the readout is in flight and SIGKILL ends the processor there (else
it continues and the next readout is tried). The controller's watcher sees
the exit, starts a new processor, moves its client there and gives it the
obsid: frames after the kill are stored in a new part of the observation.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from dpu_server import (
    WAIT_S,
    Camera,
    PartialReadout,
    assert_pixel_exact,
    camera_server,
    geometry,
    image_frames,
    in_flight,
    into_a_readout,
)

from controlroom.devices.camera.dpu import Topic
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.storage import FrameFileReader, observation_files
from controlroom.rpc import RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

MID = PartialReadout(v_start=0, v_end=399, h_end=2254, sensor_sel=2, packet_size=32768)
OBSID = "OBS_KILL"
PACKETS_BEFORE_KILL = 12
ATTEMPTS = 10


def _kill_mid_readout(camera: Camera, pid: int, while_stopped: Callable[[], None]) -> int:
    """SIGKILL the processor while a readout is in flight; that readout's frame counter."""
    publish = camera.status()["processor_publish"]
    with DpuMonitoring(publish, [Topic.SYNC_DATA_PACKET]) as monitoring:
        for _ in range(ATTEMPTS):
            frame_counter = into_a_readout(monitoring, PACKETS_BEFORE_KILL)
            os.kill(pid, signal.SIGSTOP)
            if in_flight(camera.root, OBSID, frame_counter):
                while_stopped()
                os.kill(pid, signal.SIGKILL)
                return frame_counter
            os.kill(pid, signal.SIGCONT)
    pytest.fail(f"no readout caught in flight in {ATTEMPTS} tries")


class Waiting:
    """A write queued at a processor that cannot send it: its caller waits in a thread."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.outcome: list[BaseException | dict[str, object]] = []
        self._thread = threading.Thread(target=self._call)

    def start(self) -> None:
        owed = self.camera.server.deferred
        before = owed.outstanding
        self._thread.start()
        assert wait_until(lambda: owed.outstanding > before, WAIT_S)  # at the processor now

    def _call(self) -> None:
        with self.camera.proxy() as proxy:
            try:
                self.outcome.append(proxy.set_register("sync_sel", 0))
            except RemoteError as error:
                self.outcome.append(error)

    def failure(self, pattern: str) -> bool:
        self._thread.join(WAIT_S)
        [outcome] = self.outcome
        return isinstance(outcome, RemoteError) and re.search(pattern, str(outcome)) is not None


def test_a_killed_processor_is_restarted_and_frames_after_it_are_stored(tmp_path: Path) -> None:
    with camera_server(tmp_path) as camera, camera.proxy() as proxy:
        proxy.set_obsid(OBSID)
        proxy.full_image(0, **geometry(MID))
        image_frames(camera.root, OBSID, 1)
        old = camera.status()["processor_pid"]
        waiting = Waiting(camera)
        cut = _kill_mid_readout(camera, old, waiting.start)

        def restarted() -> bool:
            status = camera.status()
            return bool(status["processor_up"]) and status["processor_pid"] != old

        assert wait_until(restarted, WAIT_S), camera.status()
        status = camera.status()
        assert status["processor_restarts"] == 1 and status["processor_state"] == "running"
        last_exit = status["processor_last_exit"]
        assert (last_exit["pid"], last_exit["code"]) == (old, -signal.SIGKILL)
        assert last_exit["how"] == "was killed by SIGKILL" and not last_exit["requested"]
        assert waiting.failure(
            r"ProcessorRestarted: the DPU processor moved from"
        )  # its caller is told
        assert wait_until(lambda: len(observation_files(camera.root, OBSID)) == 2, WAIT_S)
        [after] = image_frames(camera.root, OBSID, 1)  # from the new part: the obsid came along
        assert proxy.set_mode("DUMP")["status"] == 0  # commands reach the new processor
        again = proxy.restart_processor()  # an operator's (admin's) restart: no crash
        assert again["up"] and again["restarts"] == 2 and again["pid"] != status["processor_pid"]
        assert again["last_exit"]["requested"] and again["last_exit"]["code"] == 0  # a clean stop
        assert wait_until(lambda: camera.status()["mode"] == "DUMP", WAIT_S)  # the FEE took it
        assert wait_until(lambda: len(observation_files(camera.root, OBSID)) == 3, WAIT_S)
    first_part, second_part, _ = observation_files(camera.root, OBSID)
    assert second_part.name == f"{OBSID}_camera_002.h5"
    assert after.frame_counter > cut
    assert_pixel_exact(after, MID)
    with FrameFileReader(first_part) as reader:
        *before, last = reader.entries()
    assert (last.frame_counter, last.written, last.whole) == (cut, False, False)
    assert before and all(entry.whole for entry in before)
