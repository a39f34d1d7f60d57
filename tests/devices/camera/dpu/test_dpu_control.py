"""The control endpoint and ProcessorClient in one process, the loop played by the test.

The endpoint serves real command and priority queues; the test takes from
them as the loop would (or does not, to see a client wait, give up, move to
a restarted processor or close). A blocking call runs on a helper thread
while the test answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from controlroom.devices.camera.dpu import (
    CommandQueue,
    CommandReply,
    PriorityQueue,
    ProcessorClosed,
    QueueFull,
    SetRegister,
    UnknownRequest,
    WriteWord,
)
from controlroom.devices.camera.dpu.client import (
    ProcessorClient,
    ProcessorRestarted,
    ProcessorTimeout,
    RemoteDpuError,
)
from controlroom.devices.camera.dpu.commands import PriorityRequest
from controlroom.devices.camera.dpu.endpoint import ControlEndpoint
from controlroom.devices.camera.modes import FeeMode
from controlroom.testing.waiting import wait_until

WAIT_S = 10.0


@dataclass
class Served:
    """An endpoint on loopback and the queues behind it."""

    endpoint: ControlEndpoint
    commands: CommandQueue
    priorities: PriorityQueue

    def answer(self, respond: Callable[[PriorityRequest], object]) -> None:
        """Wait for a priority request and answer it as the loop would."""
        assert wait_until(lambda: len(self.priorities) > 0, WAIT_S)
        self.priorities.serve(respond)

    def send_window(self, frame_counter: int, count: int = 1) -> list[CommandReply]:
        """Wait for ``count`` commands and send them as in a command window."""
        assert wait_until(lambda: len(self.commands) >= count, WAIT_S)
        replies = []
        for queued in self.commands.take(64):
            reply = CommandReply(queued.item, 8, 1, 0, "", frame_counter)
            queued.future.set_result(reply)
            replies.append(reply)
        return replies


@contextmanager
def serving(maxsize: int = 16) -> Iterator[Served]:
    commands, priorities = CommandQueue(maxsize=maxsize), PriorityQueue()
    status = {"mode": "ON", "frame_counter": 3}
    endpoint = ControlEndpoint("tcp://127.0.0.1:0", commands, priorities, lambda: dict(status))
    endpoint.start()
    try:
        yield Served(endpoint, commands, priorities)
    finally:
        endpoint.stop()


@pytest.fixture
def served() -> Iterator[Served]:
    with serving() as running:
        yield running


@pytest.fixture
def helper() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1, thread_name_prefix="caller") as pool:
        yield pool


def _refuse(request: PriorityRequest) -> object:
    raise UnknownRequest(f"no such {request.name!r}")


def test_status_queries_and_commands_are_answered(
    served: Served, helper: ThreadPoolExecutor
) -> None:
    with ProcessorClient(served.endpoint.endpoint) as client:
        status = client.status()
        assert status["mode"] == "ON" and status["control"]["requests"] == 1
        futures = [client.submit(SetRegister("v_end", 63)), client.submit(WriteWord(8, 1))]
        sent = served.send_window(7, count=2)
        assert [reply.command for reply in sent] == [SetRegister("v_end", 63), WriteWord(8, 1)]
        records = [future.result(WAIT_S) for future in futures]
        assert records[0] == {
            "register": "v_end", "value": 63, "address": 8, "word": 1, "status": 0, "error": "",
            "frame_counter": 7,
        }  # fmt: skip
        assert records[1]["frame_counter"] == 7 and "register" not in records[1]
        answers = {"mode": FeeMode.FULL_IMAGE, "register_map": bytes(4), "obsid": None}
        for name, expected in (("mode", "FULL_IMAGE"), ("register_map", bytes(4))):
            asked = helper.submit(client.query, name, WAIT_S)
            served.answer(lambda request: answers[request.name])  # type: ignore[union-attr]
            assert asked.result(WAIT_S) == expected  # enums by name, bytes as bytes
        assigned = helper.submit(client.assign, "obsid", "OBS_1", WAIT_S)
        served.answer(lambda request: None)
        assert assigned.result(WAIT_S) is None


def test_refusals_come_back_as_the_processors_errors(
    served: Served, helper: ThreadPoolExecutor
) -> None:
    with ProcessorClient(served.endpoint.endpoint) as client:
        futures = [client.submit(SetRegister("v_end", n)) for n in range(16)]
        assert wait_until(lambda: len(served.commands) == 16, WAIT_S)
        with pytest.raises(QueueFull, match="the DPU command queue is full") as full:
            client.submit(SetRegister("v_end", 99)).result(WAIT_S)
        assert isinstance(full.value, RemoteDpuError) and full.value.remote_type == "QueueFull"
        asked = helper.submit(client.query, "other", WAIT_S)
        served.answer(_refuse)
        with pytest.raises(UnknownRequest, match="no such 'other'"):
            asked.result(WAIT_S)
        served.commands.close()  # the loop stopped: what waits is failed
        for future in futures:
            with pytest.raises(ProcessorClosed, match="stopped"):
                future.result(WAIT_S)


def test_an_answer_the_caller_stopped_waiting_for_is_dropped(served: Served) -> None:
    with ProcessorClient(served.endpoint.endpoint, timeout_s=0.2) as client:
        with pytest.raises(ProcessorTimeout, match=r"did not answer a query request within 0\.2 s"):
            client.query("mode")
        served.answer(lambda request: "late")  # the reply comes, nobody waits for it
        assert client.status()["frame_counter"] == 3  # the next call gets its own answer


def test_a_restarted_processor_fails_what_waited_on_the_old_one(served: Served) -> None:
    with ProcessorClient(served.endpoint.endpoint) as client:
        waiting_on_old = client.submit(SetRegister("v_end", 1))
        assert wait_until(lambda: len(served.commands) == 1, WAIT_S)
        with serving() as restarted:
            client.reconnect(restarted.endpoint.endpoint)
            with pytest.raises(ProcessorRestarted, match=r"moved from .* to "):
                waiting_on_old.result(WAIT_S)
            assert client.endpoint == restarted.endpoint.endpoint
            future = client.submit(SetRegister("v_end", 2))
            restarted.send_window(11)
            assert future.result(WAIT_S)["frame_counter"] == 11
        served.send_window(1)  # the old processor's late reply finds nobody
        waiting = client.submit(SetRegister("v_end", 3))
    with pytest.raises(ProcessorClosed, match="client was closed"):
        waiting.result(WAIT_S)
    with pytest.raises(ProcessorClosed, match="client is closed"):
        client.status()
