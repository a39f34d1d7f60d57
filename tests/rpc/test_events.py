"""Events between servers: registration, delivery off the command loop, retries, drops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy, RemoteError
from controlroom.rpc.events import MAX_LISTENERS, RETRY_DELAYS_S, Notifier
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until


def test_a_listener_receives_the_events_it_registered_for(
    serve: Callable[..., ControlServer],
) -> None:
    producer = serve(DummySensor(), "producer")
    listener = serve(DummySensor(), "listener")
    got: list[dict[str, Any]] = []
    listener.on_event("new_setup", got.append)
    with Proxy(producer.endpoint) as proxy:
        proxy.call("register_listener", "listener", listener.endpoint, ["new_setup"])
        producer.notify("other_event", {"x": 1})
        producer.notify("new_setup", {"setup_id": 7})
        assert wait_until(lambda: len(got) == 1)
        info = proxy.info()
    assert got[0]["event"] == "new_setup"
    assert got[0]["source"] == "producer"
    assert got[0]["data"] == {"setup_id": 7}
    [entry] = info["listeners"]
    assert entry["name"] == "listener"
    assert wait_until(lambda: producer.notifier.describe()[0]["delivered"] == 1)


def test_a_handler_may_call_back_into_the_producer_without_deadlock(
    serve: Callable[..., ControlServer],
) -> None:
    producer = serve(DummySensor(), "producer")
    listener = serve(DummySensor(), "listener")
    fetched: list[float] = []
    done = threading.Event()

    def on_new_setup(_: dict[str, Any]) -> None:
        with Proxy(producer.endpoint, timeout=2.0) as back:
            fetched.append(back.call("get_offset"))
        done.set()

    listener.on_event("new_setup", on_new_setup)
    producer.notifier.register("listener", listener.endpoint)
    producer.notify("new_setup")
    assert done.wait(5.0)
    assert fetched == [0.0]


def test_notify_never_waits_for_a_listener(
    serve: Callable[..., ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    producer = serve(DummySensor(), "producer")
    listener = serve(DummySensor(), "listener")
    producer.notifier.timeout_s = 60.0  # the held delivery must not time out meanwhile
    gate = threading.Event()
    arrived: list[int] = []
    handled: list[int] = []
    accept = listener.events.accept

    def held_accept(payload: Any) -> bool:
        arrived.append(payload["data"]["n"])
        gate.wait(30.0)  # the listener answers only once the test opens the gate
        return accept(payload)

    monkeypatch.setattr(listener.events, "accept", held_accept)
    listener.on_event("tick", lambda event: handled.append(event["data"]["n"]))
    producer.notifier.register("listener", listener.endpoint)

    def notify_all() -> None:
        for index in range(100):
            producer.notify("tick", {"n": index})

    notifying = threading.Thread(target=notify_all, name="notifying", daemon=True)
    try:
        notifying.start()
        # A notify that waited for the listener would still wait for the gate.
        assert wait_until(lambda: not notifying.is_alive(), 30.0), "notify waited"
        assert wait_until(lambda: arrived == [0])  # the first delivery is held there
        [entry] = producer.notifier.describe()
        assert entry["delivered"] == 0 and not gate.is_set()
    finally:
        gate.set()
    assert wait_until(lambda: handled == list(range(100)), 10.0)  # then all, in order
    assert wait_until(lambda: producer.notifier.describe()[0]["delivered"] == 100)


def test_a_listener_that_is_down_is_retried_then_dropped(
    serve: Callable[..., ControlServer],
) -> None:
    producer = serve(DummySensor(), "producer")
    producer.notifier.timeout_s = 0.05
    producer.notifier.register("ghost", f"tcp://127.0.0.1:{free_tcp_port()}")
    for index in range(100):
        producer.notify("tick", {"n": index})
    # Retried a few times, then dropped; the producer keeps serving meanwhile.
    with Proxy(producer.endpoint) as proxy:
        assert proxy.ping() == "pong"
        assert wait_until(lambda: not proxy.info()["listeners"], 5.0 + sum(RETRY_DELAYS_S))


def test_unregister_and_bad_registrations(serve: Callable[..., ControlServer]) -> None:
    producer = serve(DummySensor(), "producer")
    with Proxy(producer.endpoint) as proxy:
        proxy.call("register_listener", "a", "tcp://127.0.0.1:1")
        assert proxy.call("unregister_listener", "a") is True
        assert proxy.call("unregister_listener", "a") is False
        with pytest.raises(RemoteError, match="listener needs a name"):
            proxy.call("register_listener", "", 5)
        with pytest.raises(RemoteError, match="event"):
            proxy.call("handle_event", {"no": "name"})
        assert proxy.ping() == "pong"  # the server refused and kept serving


@pytest.mark.parametrize(
    "endpoint",
    [
        "ipc:///etc/passwd",
        "inproc://controlroom-standby-0",
        "file:///etc/passwd",
        "tcp://*:5555",
        "tcp://0.0.0.0:5555",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1",
        "tcp://eth0;10.0.0.1:5555",
        "tcp://127.0.0.1:99999",
        "not an endpoint",
        "tcp://" + "a" * 400 + ":1",
    ],
)
def test_a_listener_endpoint_must_be_tcp_host_and_port(
    serve: Callable[..., ControlServer], endpoint: str
) -> None:
    producer = serve(DummySensor(), "producer")
    with Proxy(producer.endpoint) as proxy:
        with pytest.raises(ValueError, match="endpoint") as refused:
            proxy.call("register_listener", "intruder", endpoint)
        assert "root:" not in str(refused.value)
        assert proxy.info()["listeners"] == []
        assert proxy.ping() == "pong"


@pytest.mark.parametrize(
    "endpoint", ["tcp://127.0.0.1:5555", "tcp://node-2.lab.example:6000", "tcp://[::1]:7000"]
)
def test_listener_endpoints_a_client_can_connect_to_are_accepted(endpoint: str) -> None:
    notifier = Notifier("producer")
    notifier.register("listener", endpoint)
    assert [entry["endpoint"] for entry in notifier.describe()] == [endpoint]


def test_a_producer_keeps_a_bounded_number_of_listeners(
    serve: Callable[..., ControlServer],
) -> None:
    producer = serve(DummySensor(), "producer")
    with Proxy(producer.endpoint) as proxy:
        for index in range(MAX_LISTENERS):
            proxy.call("register_listener", f"l{index}", f"tcp://127.0.0.1:{10000 + index}")
        with pytest.raises(RemoteError, match=f"{MAX_LISTENERS} listeners already registered"):
            proxy.call("register_listener", "one-more", "tcp://127.0.0.1:20000")
        # A listener already known may still renew its registration.
        proxy.call("register_listener", "l0", "tcp://127.0.0.1:10000", ["new_setup"])
        assert len(proxy.info()["listeners"]) == MAX_LISTENERS
        assert proxy.ping() == "pong"


def test_registering_again_replaces_the_listener(serve: Callable[..., ControlServer]) -> None:
    producer = serve(DummySensor(), "producer")
    with Proxy(producer.endpoint) as proxy:
        proxy.call("register_listener", "storage", "tcp://127.0.0.1:6001")
        proxy.call("register_listener", "storage", "tcp://127.0.0.1:6001", ["new_setup"])
        # The same server under a new name would otherwise get every event twice.
        proxy.call("register_listener", "storage-2", "tcp://127.0.0.1:6001")
        listeners = proxy.info()["listeners"]
    assert [(entry["name"], entry["endpoint"]) for entry in listeners] == [
        ("storage-2", "tcp://127.0.0.1:6001")
    ]


@pytest.mark.parametrize("events", ["new_setup", {"new_setup": 1}, [1], ["x" * 200], ["e"] * 65])
def test_a_listener_names_its_events_in_a_list_of_short_strings(
    events: object,
) -> None:
    notifier = Notifier("producer")
    with pytest.raises(ValueError, match="event"):
        notifier.register("listener", "tcp://127.0.0.1:6001", events)  # type: ignore[arg-type]
    assert notifier.describe() == []
