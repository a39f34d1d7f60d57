"""The DPU processor's inner loop against a scripted FEE over a SpaceWire link on ipc."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dpu_sinks import LendingSink, ListSink
from scripted_fee import (
    T0,
    WAIT_S,
    FakeClock,
    PulseScript,
    ScriptedFee,
    expected_pixels,
    fee_and_link,
    small_readout,
)

from controlroom.device.spacewire import DataPacket, HousekeepingPacket, Status
from controlroom.devices.camera.dpu import (
    Assign,
    CommandReply,
    DpuLoop,
    DpuState,
    Query,
    SetRegister,
    SystemClock,
    Topic,
    WriteWord,
)
from controlroom.devices.camera.geometry import Readout, Side
from controlroom.devices.camera.images import pixel_checksum
from controlroom.devices.camera.modes import ErrorFlag, FeeMode
from controlroom.devices.camera.sequencer import WriteOutcome
from controlroom.devices.camera.storage import Frame, framewire
from controlroom.testing.waiting import wait_until


class Published:
    """What the loop published, in order."""

    def __init__(self) -> None:
        self.items: list[tuple[Topic, object]] = []

    def __call__(self, topic: Topic, payload: object) -> None:
        if topic is Topic.SYNC_DATA_PACKET:
            packet, received_s = payload  # type: ignore[misc]
            assert isinstance(packet, DataPacket)
            payload = (bytes(packet.payload), received_s)  # the view is valid during the call only
        self.items.append((topic, payload))

    def topics(self) -> list[Topic]:
        return [topic for topic, _ in self.items if topic is not Topic.SYNC_DATA_PACKET]


def assert_pixel_exact(frame: Frame, readout: Readout, ccd: int) -> None:
    assert frame.complete
    assert set(frame.images) == {(ccd, "E"), (ccd, "F")}
    for side in (Side.E, Side.F):
        image, overscan = expected_pixels(frame.frame_counter, ccd, side, readout)
        assert pixel_checksum(frame.images[ccd, str(side)]) == pixel_checksum(image)
        assert pixel_checksum(frame.overscan[ccd, str(side)]) == pixel_checksum(overscan)


@contextmanager
def dpu_with_fee(
    folder: Path, **options: object
) -> Iterator[tuple[DpuLoop, ScriptedFee, ListSink]]:
    with fee_and_link(folder) as (fee, link, clock):
        sink = ListSink()
        loop = DpuLoop(link, sink, clock=clock, **options)  # type: ignore[arg-type]
        yield loop, fee, sink


def test_timecode_hk_and_data_become_pixel_exact_frames(tmp_path: Path) -> None:
    published = Published()
    with dpu_with_fee(tmp_path, publish=published) as (loop, fee, sink):
        small_readout(fee.registers)
        for _ in range(4):  # one cycle: CCD 1, 2, 3, 4
            fee.pulse()
            report = loop.run_once()
            assert report.errors == [] and report.frame is sink.frames[-1]
        readout = Readout(v_end=63, h_end=99, packet_size=2048)
        for number, frame in enumerate(sink.frames):
            assert (frame.frame_counter, frame.timecode) == (number, number)
            assert_pixel_exact(frame, readout, ccd=number + 1)
            assert frame.received_s == T0 + number * 6.25  # the FEE's clock at its pulse
    counters = loop.counters
    assert (counters.frames, counters.incomplete_frames, counters.resyncs) == (4, 0, 1)
    per_period = [
        Topic.SYNC_TIMECODE, Topic.SYNC_HK_PACKET, Topic.N_FEE_REGISTER_MAP,
        Topic.SYNC_ERROR_FLAGS, Topic.NUM_CYCLES,
    ]  # fmt: skip
    assert published.topics() == per_period * 4
    data = [payload for topic, payload in published.items if topic is Topic.SYNC_DATA_PACKET]
    assert len(data) == 4 * 16
    hk = next(payload for topic, payload in published.items if topic is Topic.SYNC_HK_PACKET)
    assert isinstance(hk, tuple) and isinstance(hk[0], HousekeepingPacket)


class Heard(Published):
    """A publisher that knows which topics have subscribers, as a DpuPublisher does."""

    def __init__(self, followed: set[Topic]) -> None:
        super().__init__()
        self.followed = followed

    def wants(self, topic: Topic) -> bool:
        return topic in self.followed


def test_a_readout_is_assembled_in_memory_the_storage_lends_in_the_order_it_travels(
    tmp_path: Path,
) -> None:
    with fee_and_link(tmp_path) as (fee, link, clock):
        sink = LendingSink()
        loop = DpuLoop(link, sink, clock=clock)
        small_readout(fee.registers)
        fee.pulse()
        frame = loop.run_once().frame
    assert frame is not None and len(sink.lent) == 1
    assert_pixel_exact(frame, Readout(v_end=63, h_end=99, packet_size=2048), ccd=1)
    arrays = framewire.pixel_arrays(frame)  # the order a frame travels to the writer
    assert len(arrays) == 4
    block = sink.lent[0]
    assert sum(array.nbytes for array in arrays) == block.nbytes
    offset = 0
    for array in arrays:  # image E, image F, overscan E, overscan F: back to back
        assert array.ctypes.data == block.ctypes.data + offset
        offset += array.nbytes


def test_data_packets_are_published_only_while_somebody_follows_them(tmp_path: Path) -> None:
    heard = Heard(set(Topic) - {Topic.SYNC_DATA_PACKET})
    with dpu_with_fee(tmp_path, publish=heard) as (loop, fee, sink):
        small_readout(fee.registers)
        fee.pulse()
        assert loop.run_once().errors == [] and sink.frames[-1].images
        assert Topic.SYNC_DATA_PACKET not in {topic for topic, _ in heard.items}
        assert Topic.SYNC_TIMECODE in heard.topics()  # the others go on
        heard.followed.add(Topic.SYNC_DATA_PACKET)  # a viewer subscribes
        fee.pulse()
        assert loop.run_once().errors == []
    data = [payload for topic, payload in heard.items if topic is Topic.SYNC_DATA_PACKET]
    assert len(data) == 16  # the second readout's packets, every one


def test_ten_commands_queued_together_go_out_in_one_window_each_caller_gets_its_reply(
    tmp_path: Path,
) -> None:
    commands = [
        SetRegister("v_end", 40), SetRegister("h_end", 50), SetRegister("packet_size", 1024),
        SetRegister("sensor_sel", 1), SetRegister("ccd_readout_order", 0b00011011),
        SetRegister("digitise_en", 0), SetRegister("int_sync_period", 7000),
        SetRegister("ccd_mode_config", int(FeeMode.STANDBY)), SetRegister("v_start", 3),
        WriteWord(0x0704, 0),  # the housekeeping area: the FEE refuses it
    ]  # fmt: skip
    replies: dict[int, CommandReply] = {}
    all_queued = threading.Barrier(len(commands) + 1, timeout=WAIT_S)

    def caller(index: int) -> None:
        future = loop.commands.submit(commands[index])
        all_queued.wait()
        replies[index] = future.result(timeout=WAIT_S)

    with dpu_with_fee(tmp_path) as (loop, fee, sink):
        callers = [threading.Thread(target=caller, args=(i,)) for i in range(len(commands))]
        for thread in callers:
            thread.start()
        all_queued.wait()
        fee.pulse()
        report = loop.run_once()
        for thread in callers:
            thread.join(WAIT_S)
        assert [reply.command for reply in report.replies] == commands  # one window, in order
        assert {i: reply.command for i, reply in replies.items()} == dict(enumerate(commands))
        assert all(replies[i].ok for i in range(9))
        refused = replies[9]
        assert refused.status == Status.NOT_IMPLEMENTED_OR_NOT_AUTHORISED and not refused.ok
        config = slice(0, 0x100)
        mirror = loop.state.registers
        assert mirror.snapshot(pending=True)[config] == fee.registers.snapshot(pending=True)[config]
        # The refused write raised an error flag: the next window clears it first.
        fee.pulse()
        report = loop.run_once()
        assert loop.state.error_flags == ErrorFlag.WRITE_TO_READ_ONLY
        assert [reply.command for reply in report.replies] == [SetRegister("clear_error_flag", 1)]
        assert len(sink.frames[1].commands) == 10  # a frame carries the commands sent before it
        fee.pulse()
        loop.run_once()
        assert loop.state.error_flags == 0
    assert loop.counters.commands_sent == 10 and loop.counters.commands_failed == 1


def test_a_priority_request_is_answered_while_the_loop_reads_data(tmp_path: Path) -> None:
    published = Published()
    with dpu_with_fee(tmp_path, publish=published) as (loop, fee, sink):
        small_readout(fee.registers)
        thread = threading.Thread(target=loop.run, name="dpu-loop")
        thread.start()
        try:
            # The loop first reads the register map by RMAP, which a held FEE would not answer.
            assert wait_until(lambda: loop.state.synced, WAIT_S)
            script = fee.pulse(PulseScript(hold_after=5))
            assert script.held.wait(WAIT_S)
            # The loop has read the five packets the FEE sent: it waits inside the readout.
            assert wait_until(lambda: len(published.items) >= 3 + 5, WAIT_S)
            mode = loop.priorities.submit(Query("mode"))
            frame_counter = loop.priorities.submit(Query("frame_counter"))
            assert mode.result(timeout=WAIT_S) is FeeMode.FULL_IMAGE
            assert frame_counter.result(timeout=WAIT_S) == 0
            assert sink.frames == []  # still reading: the FEE holds the rest of the readout
            script.release.set()
            assert sink.wait_for(1, WAIT_S)
        finally:
            loop.stop()
            thread.join(WAIT_S)
        assert not thread.is_alive()
        assert sink.frames[0].complete and loop.counters.priority_served == 2


def test_a_request_wakes_a_loop_waiting_for_its_command_window(tmp_path: Path) -> None:
    # At speed 0.05 the window opens 80 s after the timecode, and the loop may wait 60 s
    # between looks at its queues: only the request itself can wake it in time.
    with fee_and_link(tmp_path) as (fee, link, _):
        sink = ListSink()
        loop = DpuLoop(link, sink, state=DpuState(speed=0.05), clock=SystemClock(), poll_s=60.0)
        small_readout(fee.registers, FeeMode.ON)
        thread = threading.Thread(target=loop.run, name="dpu-loop")
        thread.start()
        try:
            assert wait_until(lambda: loop.state.synced, WAIT_S)
            fee.pulse()
            assert sink.wait_for(1, WAIT_S)  # the period is read: the loop waits for its window
            assert loop.priorities.submit(Query("frame_counter")).result(timeout=WAIT_S) == 0
        finally:
            loop.stop()  # ends the wait at once, too
            thread.join(WAIT_S)
        assert not thread.is_alive()


def test_num_cycles_gives_that_many_cycles_of_images_then_dump(tmp_path: Path) -> None:
    with dpu_with_fee(tmp_path) as (loop, fee, sink):
        small_readout(fee.registers, FeeMode.ON)
        loop.priorities.submit(Query("num_cycles"))  # served before anything changes
        assigned = loop.priorities.submit(Assign("num_cycles", 2))
        full_image = loop.commands.submit(SetRegister("ccd_mode_config", int(FeeMode.FULL_IMAGE)))
        for _ in range(16):
            fee.pulse()
            loop.run_once()
        assert assigned.result(timeout=0) is None and full_image.result(timeout=0).ok
    with_images = [frame.frame_counter for frame in sink.frames if frame.images]
    assert with_images == list(range(4, 12))  # two cycles of four pulses
    assert all(frame.complete for frame in sink.frames)
    modes = [plan.mode for plan in fee.plans]
    assert modes[:4] == [FeeMode.ON] * 4 and modes[12:] == [FeeMode.DUMP] * 4
    dump = [
        record for frame in sink.frames for record in frame.commands if record.get("value") == 14
    ]
    assert len(dump) == 1 and dump[0]["frame_counter"] == 8  # sent in the window of pulse 8
    assert loop.state.num_cycles == -1 and loop.state.mode is FeeMode.DUMP


class OvershootClock(FakeClock):
    """A clock whose waits can overshoot: a loop that waits past the window."""

    def __init__(self) -> None:
        super().__init__()
        self.overshoot_s = 0.0

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds + self.overshoot_s)


def test_commands_beyond_a_window_wait_for_the_next_one(tmp_path: Path) -> None:
    with fee_and_link(tmp_path) as (fee, link, _):
        clock = OvershootClock()
        fee.clock = clock
        loop = DpuLoop(link, ListSink(), clock=clock, max_commands_per_window=2)
        futures = [loop.commands.submit(SetRegister("v_start", n)) for n in (1, 2, 3)]
        fee.pulse()
        first = loop.run_once()
        assert [reply.command for reply in first.replies] == [
            f.result(0).command for f in futures[:2]
        ]
        assert not futures[2].done() and len(loop.commands) == 1
        clock.overshoot_s = 6.25  # the wait for the window outlasts it: nothing may go
        fee.pulse()
        assert loop.run_once().replies == [] and not futures[2].done()
        clock.overshoot_s = 0.0
        fee.pulse()
        assert [reply.command for reply in loop.run_once().replies] == [SetRegister("v_start", 3)]
        assert futures[2].result(timeout=0).ok and fee.registers.get("v_start", pending=True) == 3
    assert fee.outcomes == [WriteOutcome.ACCEPTED] * 3  # none landed outside a window
