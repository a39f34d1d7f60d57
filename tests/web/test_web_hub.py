"""The hub and a WebSocket client's queue, without ZeroMQ or a browser."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from controlroom.web.clients import ClientQueue, dumps
from controlroom.web.hub import Hub, Message


class Collect:
    def __init__(self) -> None:
        self.got: list[Message] = []

    def offer(self, messages: Sequence[Message]) -> None:
        self.got.extend(messages)


def hk(server: str, value: float, time: float = 1.0) -> Message:
    return Message(f"hk/{server}", server, time, {"T": value})


def test_a_subscriber_gets_the_snapshot_then_only_newer_changes_it_follows() -> None:
    hub = Hub()
    hub.publish([hk("a", 1.0), hk("b", 2.0)])
    sink = Collect()
    snapshot = hub.attach(sink, ["hk/a"])
    assert list(snapshot.topics) == ["hk/a"] and snapshot.seq == 2
    hub.publish([hk("a", 3.0), hk("b", 4.0)])
    assert [(m.topic, m.values["T"]) for m in sink.got] == [("hk/a", 3.0)]
    assert sink.got[0].seq > snapshot.seq


def test_detached_subscribers_get_nothing_more() -> None:
    hub = Hub()
    sink = Collect()
    hub.attach(sink, [""])
    hub.detach(sink)
    hub.publish([hk("a", 1.0)])
    assert sink.got == [] and hub.subscribers == 0


def test_events_are_kept_as_a_bounded_history() -> None:
    hub = Hub(events_kept=3)
    hub.publish(Message("event/a", "a", float(i), {"event": "x", "n": i}) for i in range(5))
    snapshot = hub.snapshot(["event/"])
    assert [m.values["n"] for m in snapshot.events] == [2, 3, 4]
    assert snapshot.to_json()["events"][-1]["values"]["n"] == 4


def test_servers_lists_the_status_lights() -> None:
    hub = Hub()
    hub.publish([Message("server/a", "a", 1.0, {"up": True}), hk("a", 1.0)])
    assert hub.servers() == {"a": {"up": True}}


def test_a_client_that_falls_behind_drops_its_queue_and_gets_a_new_snapshot() -> None:
    async def scenario() -> ClientQueue:
        queue = ClientQueue(asyncio.get_running_loop(), limit=3, user="vera")
        queue.offer([hk("a", 1.0), hk("a", 2.0)])
        queue.offer([hk("a", 3.0), hk("a", 4.0)])  # 4 > 3: too far behind
        await asyncio.sleep(0)  # let the loop run the offers (they come from other threads)
        replies, resync, changes = await queue.take()
        assert (replies, resync, changes) == ([], True, [])
        queue.offer([hk("a", 5.0)])
        await asyncio.sleep(0)
        _, resync, changes = await queue.take()
        assert not resync and [m.values["T"] for m in changes] == [5.0]
        return queue

    queue = asyncio.run(scenario())
    assert queue.dropped == 4 and queue.describe()["lag"] == 0


def test_json_for_browsers_has_no_nan() -> None:
    assert dumps({"a": float("nan"), "b": [float("inf"), 1.5]}) == '{"a":null,"b":[null,1.5]}'
