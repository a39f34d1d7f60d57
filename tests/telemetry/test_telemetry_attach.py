"""attach_telemetry on a real (in-process) control server with the dummy sensor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from controlroom import wire
from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.hooks import HkSample
from controlroom.telemetry import (
    LIMITS_KEY,
    SYNOPTICS_KEY,
    UnknownOrigin,
    attach_telemetry,
    shipped_dictionary,
)
from controlroom.testing.waiting import wait_until


@pytest.fixture
def servers() -> Iterator[dict[str, ControlServer]]:
    """A dummy-sensor server and a listener server, stopped at the end."""
    made = {
        "dummy": ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.02),
        "listener": ControlServer("listener", DeviceService(DummySensor())),
    }
    for server in made.values():
        server.start()
    yield made
    for server in made.values():
        server.stop()


@pytest.fixture
def subscriber(servers: dict[str, ControlServer]) -> Iterator[zmq.Socket[bytes]]:
    sub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.subscribe(b"event/dummy")
    sub.subscribe(b"hk/dummy")
    sub.connect(servers["dummy"].pub_endpoint)
    yield sub
    sub.close()


def _drain(sub: zmq.Socket[bytes], into: list[tuple[bytes, dict[str, Any]]]) -> int:
    """Receive what is waiting now (never waits); the number of messages received."""
    count = 0
    while True:
        try:
            topic, *body = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return count
        into.append((topic, wire.unpack(body)))
        count += 1


def test_limit_crossings_reach_listeners_the_pub_socket_and_the_sinks(
    servers: dict[str, ControlServer], subscriber: zmq.Socket[bytes]
) -> None:
    dummy, listener = servers["dummy"], servers["listener"]
    pipeline = attach_telemetry(dummy, shipped_dictionary(), site="LAB")
    assert dummy.hooks.hk_transform is pipeline and pipeline.origin == "DUMMY"
    heard: list[dict[str, Any]] = []
    listener.on_event("limit", heard.append)
    dummy.notifier.register("listener", listener.endpoint, ["limit"])
    samples: list[HkSample] = []
    dummy.hooks.hk_sinks.append(samples.append)
    published: list[tuple[bytes, dict[str, Any]]] = []
    # Wait for published HK first: then the subscription is known to be live.
    assert wait_until(lambda: _drain(subscriber, published) and published, 10.0)
    assert published[-1][1]["values"]["DUMMY_TEMP"] == pytest.approx(20.0, abs=1.0)
    assert published[-1][1]["values"][SYNOPTICS_KEY]["SYN_TEMP_ROOM"] == pytest.approx(
        20.0, abs=1.0
    )

    with make_proxy(DummySensor, dummy.endpoint, timeout=5.0) as proxy:
        proxy.set_offset(10.0)  # about 30 degC: above the operational 25, below the 40 of nonops
        assert wait_until(lambda: len(heard) == 1, 10.0)
        proxy.set_offset(0.0)
        assert wait_until(lambda: len(heard) == 2, 10.0)

    assert [e["data"]["state"] for e in heard] == ["entered_alarm", "back_to_normal"]
    assert heard[0]["source"] == "dummy"
    assert heard[0]["data"]["parameter"] == "DUMMY_TEMP"
    assert heard[0]["data"]["band"] == "operational" and heard[0]["data"]["unit"] == "degC"
    assert pipeline.states()["DUMMY_TEMP"]["operational"]["state"] == "normal"

    events: list[dict[str, Any]] = []
    assert wait_until(
        lambda: _drain(subscriber, published) >= 0 and _limit_events(published, events) == 2
    )
    assert [e["values"]["state"] for e in events] == ["entered_alarm", "back_to_normal"]
    assert all(e["values"]["event"] == "limit" for e in events)

    stored = [c for s in samples for c in s.values.get(LIMITS_KEY, [])]
    assert [c["state"] for c in stored] == ["entered_alarm", "back_to_normal"]


def _limit_events(
    published: list[tuple[bytes, dict[str, Any]]], events: list[dict[str, Any]]
) -> int:
    events[:] = [body for topic, body in published if topic == b"event/dummy"]
    return len(events)


def test_attach_refuses_an_origin_the_dictionary_does_not_know(
    servers: dict[str, ControlServer],
) -> None:
    with pytest.raises(UnknownOrigin):
        attach_telemetry(servers["listener"], shipped_dictionary(), site="LAB")
    assert servers["listener"].hooks.hk_transform is None
    pipeline = attach_telemetry(
        servers["listener"], shipped_dictionary(), origin="DUMMY", site="LAB"
    )
    assert pipeline.origin == "DUMMY"
