"""Priority reads answered from the mirror the loop publishes, never waiting for the loop.

The control endpoint answers a query from the loop's latest Mirror at once;
only a query behind an assignment still waiting for the loop queues behind
it (so a client reads what it set). The loop publishes a new Mirror before
anybody can learn of a change: before a publication, before an assignment's
or a command's reply. Checked by order, never by timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from dpu_sinks import ListSink
from scripted_fee import WAIT_S, PulseScript, fee_and_link, small_readout

from controlroom.devices.camera.dpu import (
    Assign,
    CommandQueue,
    DpuLoop,
    DpuState,
    PriorityQueue,
    SetRegister,
    Topic,
    UnknownRequest,
)
from controlroom.devices.camera.dpu.client import ProcessorClient, RemoteDpuError
from controlroom.devices.camera.dpu.commands import PriorityRequest
from controlroom.devices.camera.dpu.endpoint import ControlEndpoint
from controlroom.devices.camera.dpu.mirror import Mirror
from controlroom.devices.camera.dpu.parameters import answer, query
from controlroom.devices.camera.modes import FeeMode
from controlroom.testing.waiting import wait_until


class Holder:
    """The mirror a test plays the loop with: replaced as the loop would."""

    def __init__(self, state: DpuState) -> None:
        self.state = state
        self.mirror = Mirror.of(state)

    def answer(self, request: PriorityRequest) -> object:
        result = answer(self.state, request)
        self.mirror = Mirror.of(self.state)
        return result


@contextmanager
def endpoint_with(holder: Holder) -> Iterator[tuple[ControlEndpoint, PriorityQueue]]:
    priorities = PriorityQueue()
    endpoint = ControlEndpoint(
        "tcp://127.0.0.1:0", CommandQueue(), priorities, dict, mirror=lambda: holder.mirror
    )
    endpoint.start()
    try:
        yield endpoint, priorities
    finally:
        endpoint.stop()


def test_the_mirror_holds_what_the_state_holds() -> None:
    state = DpuState()
    state.on_timecode(5, 1_767_268_800.0)
    state.frame_counter, state.mode, state.num_cycles = 41, FeeMode.FULL_IMAGE, 3
    state.parameters.obsid = "OBS_M"
    state.registers.set("v_end", 99)  # pending: active after the next long pulse
    mirror = Mirror.of(state)
    assert query(mirror, "mode") is FeeMode.FULL_IMAGE
    assert (query(mirror, "timecode"), query(mirror, "frame_counter")) == (5, 41)
    assert (query(mirror, "num_cycles"), query(mirror, "obsid")) == (3, "OBS_M")
    assert query(mirror, "pending_changes") is True
    assert query(mirror, "v_end") == state.registers.get("v_end") != 99  # the active copy
    assert query(mirror, "register_map") == state.registers.snapshot()
    state.registers.apply()
    assert query(Mirror.of(state), "v_end") == 99 and query(mirror, "v_end") != 99
    with pytest.raises(UnknownRequest, match="knows no 'registers'"):
        query(mirror, "registers")


def test_a_query_is_answered_while_nothing_serves_the_queue() -> None:
    state = DpuState()
    state.frame_counter = 12
    with endpoint_with(Holder(state)) as (endpoint, priorities):
        with ProcessorClient(endpoint.endpoint, timeout_s=WAIT_S) as client:
            assert client.query("frame_counter") == 12
            with pytest.raises(RemoteDpuError, match="knows no 'nonsense'"):
                client.query("nonsense")
            assert len(priorities) == 0 and endpoint.counters["mirrored"] == 2
            waits = client.status()["control"]
    assert waits["mirrored"] == 2


def test_a_query_sent_behind_an_assignment_waits_for_it_and_reads_it() -> None:
    holder = Holder(DpuState())
    with endpoint_with(holder) as (endpoint, priorities), ThreadPoolExecutor(2) as pool:
        with ProcessorClient(endpoint.endpoint, timeout_s=WAIT_S) as client:
            assigned = pool.submit(client.assign, "obsid", "OBS_NEW")
            assert wait_until(lambda: len(priorities) == 1, WAIT_S)
            read: Future[object] = pool.submit(client.query, "obsid")
            assert wait_until(lambda: len(priorities) == 2, WAIT_S)  # queued, not answered
            assert not read.done()
            priorities.serve(holder.answer)  # the loop: the assignment, then the query
            assert assigned.result(WAIT_S) is None and read.result(WAIT_S) == "OBS_NEW"
            assert client.query("obsid") == "OBS_NEW"  # from the mirror again
            assert endpoint.counters["mirrored"] == 1


def test_the_loop_publishes_an_assignment_before_its_caller_hears_of_it(tmp_path: Path) -> None:
    with fee_and_link(tmp_path) as (fee, link, clock):
        loop = DpuLoop(link, ListSink(), clock=clock)
        small_readout(fee.registers, FeeMode.ON)
        seen: list[object] = []
        assigned = loop.priorities.submit(Assign("obsid", "OBS_SET"))
        assigned.add_done_callback(lambda _: seen.append(loop.mirror.obsid))
        command = loop.commands.submit(SetRegister("v_start", 5))
        command.add_done_callback(lambda _: seen.append(loop.mirror.pending_changes))
        fee.pulse()
        loop.run_once()
        assert assigned.done() and command.result(0).ok
    assert seen == ["OBS_SET", True]


def test_each_publication_comes_after_the_mirror_shows_it(tmp_path: Path) -> None:
    mirrored: list[tuple[Topic, int | None, int | None]] = []
    with fee_and_link(tmp_path) as (fee, link, clock):
        loop: DpuLoop

        def publish(topic: Topic, payload: object) -> None:
            mirrored.append((topic, loop.mirror.timecode, loop.mirror.frame_counter))

        loop = DpuLoop(link, ListSink(), clock=clock, publish=publish)
        small_readout(fee.registers, FeeMode.ON)
        for _ in range(2):
            fee.pulse()
            loop.run_once()
    timecodes = [(t, c) for topic, t, c in mirrored if topic is Topic.SYNC_TIMECODE]
    housekeeping = [(t, c) for topic, t, c in mirrored if topic is Topic.SYNC_HK_PACKET]
    assert [t for t, _ in timecodes] == [0, 1]  # the new timecode, before its HK came
    assert housekeeping == [(0, 0), (1, 1)]


def test_a_query_is_answered_from_the_mirror_in_the_middle_of_a_readout(tmp_path: Path) -> None:
    with fee_and_link(tmp_path) as (fee, link, clock):
        sink = ListSink()
        loop = DpuLoop(link, sink, clock=clock)
        small_readout(fee.registers)
        endpoint = ControlEndpoint(
            "tcp://127.0.0.1:0", loop.commands, loop.priorities, dict,
            mirror=lambda: loop.mirror,
        )  # fmt: skip
        endpoint.start()
        thread = threading.Thread(target=loop.run, name="dpu-loop")
        thread.start()
        try:
            assert wait_until(lambda: loop.state.synced, WAIT_S)
            script = fee.pulse(PulseScript(hold_after=5))
            assert script.held.wait(WAIT_S)  # the loop waits inside the readout
            assert wait_until(lambda: loop.mirror.frame_counter == 0, WAIT_S)
            with ProcessorClient(endpoint.endpoint, timeout_s=WAIT_S) as client:
                assert client.query("mode") == "FULL_IMAGE"
                assert client.query("frame_counter") == 0
            assert sink.frames == []  # still reading
            script.release.set()
            assert sink.wait_for(1, WAIT_S)
        finally:
            loop.stop()
            thread.join(WAIT_S)
            endpoint.stop()
    assert not thread.is_alive()
    assert loop.counters.priority_served == 0 and endpoint.counters["mirrored"] == 2
