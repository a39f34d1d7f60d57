"""The DPU loop keeps going through link faults, and waits for a storage that is behind."""

from __future__ import annotations

import threading
from pathlib import Path

from dpu_sinks import ListSink
from scripted_fee import WAIT_S, PulseScript, expected_pixels, fee_and_link, small_readout

from controlroom.devices.camera.dpu import DpuLoop, Query, ReadoutIncomplete, Topic
from controlroom.devices.camera.geometry import Readout, Side
from controlroom.devices.camera.images import pixel_checksum
from controlroom.devices.camera.storage import FrameFileReader, FrameWriter
from controlroom.testing.waiting import wait_until

READOUT = Readout(v_end=63, h_end=99, packet_size=2048)


def test_a_corrupt_packet_and_a_missing_timecode_do_not_stop_the_loop(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    sink = ListSink()
    with fee_and_link(tmp_path) as (fee, link, clock):
        loop = DpuLoop(link, sink, clock=clock, on_error=errors.append)
        small_readout(fee.registers)
        fee.pulse()
        assert loop.run_once().frame is not None
        # Pulse 1: the third packet (1024 pixels of CCD 2 side E) arrives one byte short.
        fee.pulse(PulseScript(corrupt=frozenset({2})))
        broken = loop.run_once().frame
        assert broken is not None and not broken.complete
        assert set(broken.images) == {(2, "F")}  # the whole side is kept, the broken one not
        assert link.counters.corrupt == 1
        assert len(errors) == 1 and isinstance(errors[0], ReadoutIncomplete)
        assert "data E: 5376 of 6400 pixels" in str(errors[0])
        fee.pulse()
        assert loop.run_once().frame.complete  # type: ignore[union-attr]
        # Pulse 3 comes without its timecode: its packets are discarded, pulse 4 is read.
        fee.pulse(PulseScript(timecode=False))
        fee.pulse()
        report = loop.run_once()
        assert report.timecode == 4 and report.frame is not None and report.frame.complete
        assert loop.counters.unexpected_packets == 1 + 16  # its HK and data packets
        # No pulse at all: the wait ends quietly.
        loop.timecode_timeout_s = 0.2
        assert loop.run_once().timecode is None
        loop.timecode_timeout_s = None
        fee.pulse()
        last = loop.run_once().frame
    assert last is not None and last.complete and last.frame_counter == 5
    assert len(errors) == 1  # the timeout and the discarded packets are no errors
    counters = loop.counters
    assert (counters.timecode_timeouts, counters.incomplete_frames, counters.frames) == (1, 1, 5)
    image, _ = expected_pixels(5, 2, Side.F, READOUT)
    assert pixel_checksum(last.images[2, "F"]) == pixel_checksum(image)


def test_a_storage_that_is_behind_makes_the_loop_wait_and_nothing_is_dropped(
    tmp_path: Path,
) -> None:
    store = tmp_path / "frames"
    writer = FrameWriter(store, queue_frames=1)  # not started yet: its queue fills at once
    files: list[object] = []

    def publish(topic: Topic, payload: object) -> None:
        if topic is Topic.HDF5_FILENAMES:
            files.append(payload)

    with fee_and_link(tmp_path) as (fee, link, clock):
        loop = DpuLoop(link, writer, clock=clock, publish=publish)
        small_readout(fee.registers)
        thread = threading.Thread(target=loop.run, name="dpu-loop")
        thread.start()
        try:
            fee.pulse()
            assert wait_until(lambda: loop.counters.frames == 1, WAIT_S)
            fee.pulse()
            assert wait_until(lambda: loop.counters.sink_behind == 1, WAIT_S)
            waiting_in = loop.priorities.submit(Query("frame_counter"))
            assert waiting_in.result(timeout=WAIT_S) == 1  # the loop answers while it waits
            assert loop.counters.frames == 1
            writer.start()
            assert wait_until(lambda: loop.counters.frames == 2, WAIT_S)
            fee.pulse()
            assert wait_until(lambda: loop.counters.frames == 3, WAIT_S)
        finally:
            loop.stop()
            thread.join(WAIT_S)
            writer.close()
    assert not thread.is_alive()
    assert loop.counters.frames_lost == 0 and writer.stats.frames_written == 3
    (path,) = store.rglob("*.h5")
    assert files == [[str(path)]]
    with FrameFileReader(path) as reader:
        frames = [reader.read(entry.position) for entry in reader.entries()]
    assert [frame.frame_counter for frame in frames] == [0, 1, 2]
    for frame in frames:
        ccd = frame.frame_counter + 1
        for side in (Side.E, Side.F):
            image, overscan = expected_pixels(frame.frame_counter, ccd, side, READOUT)
            assert pixel_checksum(frame.images[ccd, str(side)]) == pixel_checksum(image)
            assert pixel_checksum(frame.overscan[ccd, str(side)]) == pixel_checksum(overscan)
