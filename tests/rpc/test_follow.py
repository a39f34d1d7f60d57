"""The one subscriber: many endpoints, handlers by topic; StatusFollower on top of it."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from controlroom import wire
from controlroom.rpc import ControlServer, FunctionTable, follow
from controlroom.rpc.follow import (
    NotAPublication,
    Publication,
    StatusFollower,
    Subscriber,
    decode,
)
from controlroom.testing.waiting import wait_until


def _confman_like(state: dict[str, Any], name: str = "confman") -> ControlServer:
    served = FunctionTable({}, status=lambda: dict(state))
    return ControlServer(name, served, status_period_s=0.02, hk_period_s=10.0)


def test_it_keeps_the_latest_values_of_its_topic() -> None:
    state: dict[str, Any] = {"setup_id": 3, "obsid": None}
    with _confman_like(state) as server:
        follower = StatusFollower(server.pub_endpoint, "status/confman")
        assert follower.current() == {}  # before the first message
        with follower:
            assert follower.wait(5.0)
            assert follower.current() == {"setup_id": 3, "obsid": None}
            state["obsid"] = "LAB_00001"
            assert wait_until(lambda: follower.current().get("obsid") == "LAB_00001")
            assert follower.last_time is not None and follower.last_time > 1e9
            copy = follower.current()
            copy["setup_id"] = 99  # a copy: the follower's own values stay as published
            assert follower.current()["setup_id"] == 3


def test_a_topic_that_only_shares_a_prefix_is_ignored() -> None:
    with (
        _confman_like({"setup_id": 1}, "confman2") as other,
        StatusFollower(other.pub_endpoint, "status/confman") as follower,
    ):
        # The publisher sends many status messages; none of them is ours.
        assert wait_until(lambda: other.publisher.last["status"] is not None)
        assert not follower.wait(0.3)
        assert follower.current() == {}


def test_undecodable_messages_are_counted_and_skipped() -> None:
    context = zmq.Context.instance()
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    try:
        with StatusFollower(f"tcp://127.0.0.1:{port}", "status/x") as follower:
            good = wire.pack({"server": "x", "time": 1.0, "values": {"a": 1}})

            def send_until_received() -> bool:
                pub.send_multipart([b"status/x", b"\xc1"])  # never valid msgpack
                pub.send_multipart([b"status/x", *good])
                return follower.received > 0

            # A PUB socket drops what it sends before the subscription arrives.
            assert wait_until(send_until_received, every_s=0.02)
            assert follower.discarded >= 1
            assert follower.current() == {"a": 1}
    finally:
        pub.close()


def test_stop_is_idempotent_and_closes_the_thread() -> None:
    follower = StatusFollower("tcp://127.0.0.1:1", "status/none").start()
    assert "follow-status/none" in _thread_names()
    follower.stop()
    follower.stop()
    assert "follow-status/none" not in _thread_names()


def _thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


class _Pub:
    """A bare PUB socket on loopback, sending publications as a control server does."""

    def __init__(self) -> None:
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.endpoint = f"tcp://127.0.0.1:{self.socket.bind_to_random_port('tcp://127.0.0.1')}"

    def send(self, topic: str, values: Any, server: str = "x") -> None:
        body = {"server": server, "time": 1.0, "values": values}
        self.socket.send_multipart([topic.encode(), *wire.pack(body)])

    def close(self) -> None:
        self.socket.close(linger=0)


@pytest.fixture
def pubs() -> Iterator[list[_Pub]]:
    made = [_Pub(), _Pub()]
    yield made
    for pub in made:
        pub.close()


def test_a_subscriber_follows_many_endpoints_with_handlers_by_topic(pubs: list[_Pub]) -> None:
    a, b = pubs
    hk: list[Publication] = []
    events: list[Publication] = []
    wakes: list[int] = []
    subscriber = Subscriber(name="test-sub", on_wake=lambda: wakes.append(1))
    subscriber.on("hk/", hk.append).on("event/", events.append)
    with subscriber:
        assert wait_until(lambda: len(wakes) > 1)  # woken even while nothing is followed
        subscriber.follow([a.endpoint, b.endpoint, ""])
        assert wait_until(lambda: subscriber.connected() == {a.endpoint, b.endpoint})

        def both_heard() -> bool:
            a.send("hk/a", {"T": 1}, "a")
            b.send("event/b", {"event": "open"}, "b")
            a.send("status/a", {"ignored": True}, "a")  # no handler subscribed to it
            return bool(hk) and bool(events)

        assert wait_until(both_heard, every_s=0.02)
        assert (hk[0].topic, hk[0].server, hk[0].kind, hk[0].subject) == ("hk/a", "a", "hk", "a")
        assert hk[0].values == {"T": 1} and events[0].values == {"event": "open"}
        counts = subscriber.describe()
        assert counts["endpoints"] == sorted([a.endpoint, b.endpoint])
        assert counts["by_endpoint"][a.endpoint]["received"] >= 1
        assert counts["received"] == sum(c["received"] for c in counts["by_endpoint"].values())
        assert not any(p.topic.startswith("status/") for p in hk + events)

        subscriber.follow([b.endpoint])
        assert wait_until(lambda: subscriber.connected() == {b.endpoint})
        assert list(subscriber.describe()["by_endpoint"]) == [b.endpoint]


def test_an_idle_subscriber_sleeps_until_told_to_follow(pubs: list[_Pub]) -> None:
    a, _ = pubs
    heard: list[Publication] = []
    with Subscriber(name="test-sleeper").on("hk/", heard.append) as subscriber:
        # Without an on_wake hook it has no reason to wake by itself: follow() wakes it.
        subscriber.follow([a.endpoint])
        assert wait_until(lambda: subscriber.connected() == {a.endpoint}, 10.0)

        def heard_it() -> bool:
            a.send("hk/a", {"T": 2}, "a")
            return bool(heard)

        assert wait_until(heard_it, 10.0, every_s=0.02)
    assert "test-sleeper" not in _thread_names()  # stop() woke it too


def test_garbage_is_counted_per_endpoint_and_a_failing_handler_does_not_stop_it(
    pubs: list[_Pub],
) -> None:
    pub = pubs[0]
    taken: list[Publication] = []

    def fragile(publication: Publication) -> None:
        if publication.values.get("bad"):
            raise RuntimeError("cannot take it")
        taken.append(publication)

    subscriber = Subscriber(name="test-sub").on("", fragile)
    subscriber.follow([pub.endpoint])
    with subscriber:

        def garbage_then_good() -> bool:
            pub.socket.send_multipart([b"hk/x", b"\xc1"])  # never valid msgpack
            pub.send("hk/x", {"bad": True})
            pub.send("hk/x", {"good": True})
            return bool(taken)

        assert wait_until(garbage_then_good, every_s=0.02)
        assert subscriber.discarded >= 1
        assert subscriber.describe()["by_endpoint"][pub.endpoint]["discarded"] >= 1


def test_one_wake_up_takes_a_bounded_batch(
    pubs: list[_Pub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "BATCH", 10)
    pub = pubs[0]
    ready = threading.Event()
    taken_at_wake: list[int] = []
    taken: list[Publication] = []

    def slow_first(publication: Publication) -> None:
        if not taken:
            ready.wait(5.0)  # meanwhile the rest queues up in ZeroMQ
        taken.append(publication)

    subscriber = Subscriber(name="test-sub", on_wake=lambda: taken_at_wake.append(len(taken)))
    subscriber.on("hk/", slow_first).on("status/", lambda _: None).follow([pub.endpoint])
    with subscriber:
        assert wait_until(lambda: pub.send("status/x", {}) or subscriber.received > 0)
        for i in range(50):
            pub.send("hk/x", {"i": i})
        ready.set()
        assert wait_until(lambda: len(taken) == 50)
    steps = [later - earlier for earlier, later in itertools.pairwise(taken_at_wake)]
    assert max(steps) <= 10


def test_a_bad_endpoint_fails_start_and_later_only_itself() -> None:
    subscriber = Subscriber(name="test-sub").on("", lambda _: None)
    subscriber.follow(["nonsense://"])
    with pytest.raises(zmq.ZMQError):
        subscriber.start()
    subscriber.follow([])
    with subscriber:
        subscriber.follow(["nonsense://", "tcp://127.0.0.1:1"])
        assert wait_until(lambda: subscriber.connected() == {"tcp://127.0.0.1:1"})


@pytest.mark.parametrize(
    "frames",
    [
        [b"hk/x"],
        [b"\xff/x", *wire.pack({"server": "x", "time": 1.0, "values": {}})],
        [b"hk", *wire.pack({"server": "x", "time": 1.0, "values": {}})],
        [b"hk/x", *wire.pack(["not", "a", "map"])],
        [b"hk/x", *wire.pack({"server": "x", "time": 1.0, "values": [1]})],
        [b"hk/x", *wire.pack({"time": 1.0, "values": {}})],
        [b"hk/x", *wire.pack({"server": "x", "time": True, "values": {}})],
        [b"hk/x", *wire.pack({"server": "x", "values": {}})],
    ],
)
def test_what_is_not_a_publication_is_refused(frames: list[bytes]) -> None:
    with pytest.raises((NotAPublication, wire.WireError)):
        decode(frames)
