"""kill -9 of the DPU processor mid-readout: the frames before it whole, the one in flight cut.

The readout is large enough (1000 rows of one side, 4.5 MB) to be caught on
its way: once some of its data packets were published, the processor is
stopped (SIGSTOP) and its file looked at; if that frame's row is there and
not written, the readout is in flight and SIGKILL ends the processor there
(otherwise it continues and the next readout is tried). A new processor on
the same storage then writes a new file part, and stores what follows.
"""

from __future__ import annotations

import signal
from pathlib import Path

import h5py
import pytest
from dpu_process import (
    SEED,
    SPEED,
    WAIT_S,
    PartialReadout,
    Processor,
    assert_pixel_exact,
    fee_process,
    image_frames,
    in_flight,
    into_a_readout,
    processor_process,
    stopped,
)

from controlroom.devices.camera.dpu import DpuState, Topic
from controlroom.devices.camera.dpu.client import ProcessorClient
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.storage import (
    CameraStorageError,
    FrameFileReader,
    observation_files,
)
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

BIG = PartialReadout(v_start=0, v_end=999, h_end=2254, sensor_sel=2, packet_size=32768)
OBSID = "OBS_CRASH"
PACKETS_BEFORE_KILL = 20  # of about 140: the readout is well on its way, far from its end
ATTEMPTS = 10


def _configure(dpu: Processor) -> None:
    with ProcessorClient(dpu.control) as client:
        client.assign("obsid", OBSID)
        for future in [client.submit(command) for command in BIG.commands()]:
            assert future.result(WAIT_S)["status"] == 0


def _kill_mid_readout(dpu: Processor, root: Path) -> int:
    """SIGKILL while a readout is in flight; that readout's frame counter."""
    with DpuMonitoring(dpu.publish, [Topic.SYNC_DATA_PACKET]) as monitoring:
        for _ in range(ATTEMPTS):
            frame_counter = into_a_readout(monitoring, PACKETS_BEFORE_KILL)
            dpu.child.signal(signal.SIGSTOP)
            if in_flight(root, OBSID, frame_counter):
                dpu.child.signal(signal.SIGKILL)
                assert dpu.child.process.wait(WAIT_S) == -signal.SIGKILL
                return frame_counter
            dpu.child.signal(signal.SIGCONT)
    pytest.fail(f"no readout caught in flight in {ATTEMPTS} tries")


def _check_cut_file(path: Path, cut: int) -> None:
    """Every frame before ``cut`` whole and pixel-exact, ``cut`` marked, nothing after."""
    with pytest.raises(OSError):  # left open for writing by the killed processor
        h5py.File(path, "r").close()
    with FrameFileReader(path) as reader:
        entries = reader.entries()
        *before, last = entries
        assert (last.frame_counter, last.written, last.whole) == (cut, False, False)
        assert before and all(entry.whole for entry in before)
        frames = [reader.read(entry.position) for entry in before]
        hk = DpuState().decode_housekeeping(reader.housekeeping(last.position))
        with pytest.raises(CameraStorageError, match=f"frame {cut} was cut"):
            reader.read(last.position)
    assert hk.frame_counter == cut  # the cut frame's HK packet was stored when it began
    with_images = [frame for frame in frames if frame.images]
    assert len(with_images) >= 2
    for frame in with_images:
        assert_pixel_exact(frame, BIG)


def test_kill_9_mid_readout_leaves_that_frame_cut_and_a_new_processor_goes_on(
    tmp_path: Path,
) -> None:
    root = tmp_path / "frames"
    fee = fee_process("tcp://127.0.0.1:0", tmp_path / "fee.log", speed=SPEED, seed=SEED)
    with fee as (_, link):
        with processor_process(link, root, tmp_path / "dpu1.log") as first:
            _configure(first)
            image_frames(root, OBSID, 2)
            cut = _kill_mid_readout(first, root)
        [path] = observation_files(root, OBSID)
        _check_cut_file(path, cut)
        with processor_process(link, root, tmp_path / "dpu2.log") as second:
            with ProcessorClient(second.control) as client:
                client.assign("obsid", OBSID)  # the FEE still reads BIG out: nothing to command
            assert wait_until(lambda: len(observation_files(root, OBSID)) == 2, WAIT_S)
            [after] = image_frames(root, OBSID, 1)  # from the new part
            stopped(second.child)
    first_part, second_part = observation_files(root, OBSID)
    assert first_part == path and second_part.name == f"{OBSID}_camera_002.h5"
    assert after.frame_counter > cut
    assert_pixel_exact(after, BIG)
    _check_cut_file(path, cut)  # the new processor left the old part as it was
