"""The queues between the DPU control server and the processor, and the priority answers."""

from __future__ import annotations

import threading

import pytest

from controlroom.devices.camera.dpu import (
    Assign,
    CommandQueue,
    CommandReply,
    DpuState,
    PriorityQueue,
    ProcessorClosed,
    Query,
    QueueFull,
    SetRegister,
    UnknownRequest,
    WriteWord,
)
from controlroom.devices.camera.dpu.parameters import answer
from controlroom.devices.camera.dpu.waits import WaitCounts, bucket_names
from controlroom.devices.camera.errors import RegisterAccessError
from controlroom.devices.camera.storage import UnsafePathError


def _reply(command: SetRegister | WriteWord) -> CommandReply:
    return CommandReply(command, 0x0000, 1, 0)


def test_the_command_queue_is_bounded_and_says_so() -> None:
    commands = CommandQueue(maxsize=2)
    commands.submit(SetRegister("v_start", 1))
    commands.submit(SetRegister("v_start", 2))
    with pytest.raises(QueueFull, match=r"full \(2 waiting"):
        commands.submit(SetRegister("v_start", 3))
    assert len(commands) == 2


def test_each_caller_waits_on_its_own_future_in_submission_order() -> None:
    commands = CommandQueue()
    first, second, third = (SetRegister("v_start", n) for n in (1, 2, 3))
    futures = [commands.submit(c) for c in (first, second, third)]
    taken = commands.take(2)
    assert [item.item for item in taken] == [first, second]
    taken[1].future.set_result(_reply(second))
    assert futures[1].result(timeout=0).command == second
    assert not futures[0].done() and not futures[2].done() and len(commands) == 1


def test_a_cancelled_command_is_not_sent_and_a_given_back_one_keeps_its_place() -> None:
    commands = CommandQueue()
    first, second, third = (SetRegister("v_start", n) for n in (1, 2, 3))
    futures = [commands.submit(c) for c in (first, second, third)]
    assert futures[0].cancel()
    taken = commands.take(1)
    assert [item.item for item in taken] == [second]
    commands.give_back(taken)  # e.g. the window closed before it could go
    assert [item.item for item in commands.take(10)] == [second, third]


def test_closing_fails_the_waiting_commands_and_refuses_new_ones() -> None:
    commands, priorities = CommandQueue(), PriorityQueue()
    waiting = commands.submit(SetRegister("v_start", 1))
    asked = priorities.submit(Query("mode"))
    commands.close()
    priorities.close()
    with pytest.raises(ProcessorClosed):
        waiting.result(timeout=0)
    with pytest.raises(ProcessorClosed):
        asked.result(timeout=0)
    with pytest.raises(ProcessorClosed, match="stopped"):
        commands.submit(SetRegister("v_start", 2))


def test_a_malformed_command_is_refused_at_submit() -> None:
    commands = CommandQueue(check=DpuState().check_command)
    with pytest.raises(RegisterAccessError, match="no register named 'v_stat'"):
        commands.submit(SetRegister("v_stat", 1))
    with pytest.raises(RegisterAccessError, match="read-only"):
        commands.submit(SetRegister("error_flags", 0))
    with pytest.raises(RegisterAccessError, match=r"not in 0\.\.65535"):
        commands.submit(SetRegister("v_end", 70000))
    with pytest.raises(RegisterAccessError, match="aligned"):
        commands.submit(WriteWord(0x0002, 1))
    with pytest.raises(TypeError, match="SetRegister or WriteWord"):
        commands.submit(("v_start", 1))  # type: ignore[arg-type]
    assert len(commands) == 0


def test_priority_requests_each_get_their_own_answer_or_error() -> None:
    state = DpuState()
    priorities = PriorityQueue()
    requests = [
        Query("num_cycles"), Assign("num_cycles", 5), Query("num_cycles"), Query("v_end"),
        Assign("mode", 3), Query("nonsense"), Assign("obsid", "../etc"), Assign("obsid", "OBS_1"),
        Query("obsid"), Query("mode"), Assign("num_cycles", True),
    ]  # fmt: skip
    futures = [priorities.submit(r) for r in requests]
    assert priorities.serve(lambda request: answer(state, request)) == len(requests)
    assert [f.result(timeout=0) for f in futures[:4]] == [0, None, 5, 4539]
    with pytest.raises(UnknownRequest, match=r"cannot set 'mode'.*command queue"):
        futures[4].result(timeout=0)
    with pytest.raises(UnknownRequest, match="knows no 'nonsense'"):
        futures[5].result(timeout=0)
    with pytest.raises(UnsafePathError):
        futures[6].result(timeout=0)
    assert [f.result(timeout=0) for f in futures[7:10]] == [None, "OBS_1", None]
    with pytest.raises(UnknownRequest, match="integer"):
        futures[10].result(timeout=0)
    assert state.num_cycles == 5 and state.parameters.obsid == "OBS_1"


def test_many_threads_submit_at_once_and_nothing_is_lost() -> None:
    commands = CommandQueue(maxsize=400)
    start = threading.Barrier(8)

    def submit(base: int) -> None:
        start.wait()
        for n in range(50):
            commands.submit(SetRegister("v_start", base * 50 + n))

    threads = [threading.Thread(target=submit, args=(b,)) for b in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = sorted(item.item.value for item in commands.take(1000))  # type: ignore[union-attr]
    assert values == list(range(400))


def test_a_request_sets_the_arrival_event_its_loop_waits_on() -> None:
    arrived = threading.Event()
    commands = CommandQueue(maxsize=1, arrived=arrived)
    priorities = PriorityQueue(arrived=arrived)
    assert priorities.arrived is commands.arrived is arrived and not arrived.is_set()
    priorities.submit(Query("mode"))
    assert arrived.is_set()
    arrived.clear()
    commands.submit(SetRegister("v_start", 1))
    assert arrived.is_set()
    arrived.clear()
    with pytest.raises(QueueFull):
        commands.submit(SetRegister("v_start", 2))
    assert not arrived.is_set()  # nothing was queued: nothing to wake for


def test_the_waits_of_priority_requests_are_counted_in_buckets() -> None:
    waits = WaitCounts()
    for seconds in (0.0004, 0.001, 0.003, 0.015, 0.25):
        waits.add(seconds)
    counted = waits.as_dict()
    assert [counted[name] for name in bucket_names()] == [2, 0, 1, 0, 1, 0, 0, 1]
    assert counted["longest_ms"] == 250.0
    priorities = PriorityQueue()
    for name in ("mode", "frame_counter", "no_such_value"):
        priorities.submit(Query(name))
    assert priorities.serve(lambda request: answer(DpuState(), request)) == 3
    assert sum(priorities.waits.counts) == 3  # each answered request, a failed one too
