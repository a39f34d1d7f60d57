"""Finding the servers to follow, and following their HK and events on one SUB socket."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from controlroom import wire
from controlroom.rpc import ControlServer, FunctionTable
from controlroom.services.scenarios.discovery import PublishDirectory, setup_device_names
from controlroom.services.scenarios.streams import others, stream_subscriber
from controlroom.testing.waiting import wait_until

LOOPBACK = "tcp://127.0.0.1:0"


@pytest.fixture
def registry() -> Iterator[ControlServer]:
    entries = [
        {
            "name": "psu",
            "endpoints": {"commands": "tcp://0.0.0.0:7001", "publish": "tcp://0.0.0.0:7002"},
        },
        {"name": "late", "endpoints": {"commands": LOOPBACK, "publish": LOOPBACK}},  # not bound yet
        {"name": "dummy", "endpoints": {"publish": "tcp://10.0.0.5:7100"}},
    ]
    server = ControlServer("registry", FunctionTable({"list_services": lambda: entries}))
    server.start()
    yield server
    server.stop()


def test_settings_services_setup_devices_then_the_registry(registry: ControlServer) -> None:
    settings = {
        "services": {
            "registry": {"commands": registry.endpoint, "publish": LOOPBACK},
            "confman": {"commands": "tcp://127.0.0.1:6000", "publish": "tcp://127.0.0.1:6001"},
        },
        "devices": {
            "dummy": {"publish": "tcp://127.0.0.1:6711"},
            "tempctl": {"publish": "tcp://127.0.0.1:6701"},
            "unused": {"publish": "tcp://127.0.0.1:6999"},
        },
    }
    directory = PublishDirectory(settings)
    found = directory.endpoints(setup_device_names({"devices": {"dummy": {}, "tempctl": {}}}))
    assert found == {
        "confman": "tcp://127.0.0.1:6001",
        "tempctl": "tcp://127.0.0.1:6701",
        "dummy": "tcp://10.0.0.5:7100",  # the registry knows where it really is
        "psu": "tcp://127.0.0.1:7002",  # a wildcard is reached through loopback
    }


def test_without_a_registry_the_settings_are_all_there_is() -> None:
    settings = {"services": {"registry": {"commands": "tcp://127.0.0.1:1", "publish": LOOPBACK}}}
    assert PublishDirectory(settings, timeout_s=0.2).endpoints(["nowhere"]) == {}
    assert setup_device_names(None) == [] and setup_device_names({"devices": ["x"]}) == []


def test_hk_and_events_reach_the_callbacks_and_garbage_is_dropped() -> None:
    got: queue.SimpleQueue[tuple[str, str, dict[str, Any]]] = queue.SimpleQueue()
    context = zmq.Context.instance()
    publisher = context.socket(zmq.PUB)
    port = publisher.bind_to_random_port("tcp://127.0.0.1")
    follower = stream_subscriber(
        lambda server, values: got.put(("hk", server, values)),
        lambda server, values: got.put(("event", server, values)),
        ignore="scenarios",
    ).start()
    try:
        endpoints = {"bench": f"tcp://127.0.0.1:{port}", "scenarios": "tcp://127.0.0.1:1"}
        follower.follow(others(endpoints, "scenarios"))
        assert follower.following() == {f"tcp://127.0.0.1:{port}"}

        def send(topic: str, values: Any) -> None:
            publisher.send_multipart(
                [topic.encode(), *wire.pack({"server": "x", "time": 1.0, "values": values})]
            )

        # Published until the subscription has joined: a PUB drops what nobody takes.
        hk = {"TEMP": 21.5, "_synoptics": {"SYN_TEMP": 21.5}, "_limits": []}
        assert wait_until(lambda: send("hk/bench", hk) or not got.empty(), 10.0, every_s=0.02)
        assert got.get_nowait() == ("hk", "bench", {"TEMP": 21.5, "SYN_TEMP": 21.5})
        publisher.send_multipart([b"hk/bench", b"\xc1 not msgpack"])
        send("event/scenarios", {"event": "scenario_fired"})  # our own: not rule input
        send("hk/bench", ["not", "a", "map"])
        send("event/bench", {"event": "interlock_open", "state": "open"})
        assert wait_until(lambda: follower.discarded == 2)
        while True:
            kind, server, values = got.get(timeout=5.0)
            if kind == "event":
                break
        assert (server, values) == ("bench", {"event": "interlock_open", "state": "open"})
        follower.follow({})
        assert wait_until(lambda: follower.connected() == set())
    finally:
        follower.stop()
        publisher.close(linger=0)
