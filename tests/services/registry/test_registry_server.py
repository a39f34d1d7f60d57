"""The registry as a control server: commands through a proxy, events to listeners and on PUB."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from controlroom import wire
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.rpc import ControlServer, FunctionTable, RemoteError
from controlroom.services.registry.server import Registry, build_server
from controlroom.testing.waiting import wait_until

ANY_PORT = "tcp://127.0.0.1:0"
ENDS = {"commands": "tcp://127.0.0.1:7000", "publish": "tcp://127.0.0.1:7001"}
TTL_S = 0.4


def registry_settings(ttl_s: float = TTL_S) -> dict[str, Any]:
    entry = {"commands": ANY_PORT, "publish": ANY_PORT, "ttl_s": ttl_s}
    return {"services": {"registry": entry}}


@pytest.fixture
def registry() -> Iterator[tuple[ControlServer, DeviceProxy]]:
    server = build_server(registry_settings())
    server.start()
    proxy = make_proxy(Registry, server.endpoint, timeout=5.0)
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


class Events:
    """What a listener server received, in order."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(payload)

    def named(self, event: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p["data"] for p in self.received if p["event"] == event]


@pytest.fixture
def listener(registry: tuple[ControlServer, DeviceProxy]) -> Iterator[Events]:
    """A server registered as the registry's listener for server_up and server_down."""
    events = Events()
    watcher = ControlServer("watcher", FunctionTable({}))
    watcher.on_event("*", events)
    watcher.start()
    _, proxy = registry
    proxy.request("register_listener", ("watcher", watcher.endpoint, ["server_up", "server_down"]))
    try:
        yield events
    finally:
        watcher.stop()


def test_register_lookup_list_and_unregister(registry: tuple[ControlServer, DeviceProxy]) -> None:
    _, proxy = registry
    entry = proxy.register("tempctl", ENDS, {"pid": 42, "simulated": True})
    assert entry["endpoints"] == ENDS
    proxy.register("dummy", {"commands": "tcp://127.0.0.1:7010"})
    assert proxy.lookup("tempctl")["metadata"] == {"pid": 42, "simulated": True}
    assert proxy.lookup("hexapod") is None
    assert [e["name"] for e in proxy.list_services()] == ["dummy", "tempctl"]
    assert proxy.heartbeat("tempctl") == "ok"
    assert proxy.unregister("tempctl") is True
    assert proxy.unregister("tempctl") is False
    assert proxy.heartbeat("tempctl") == "unknown"
    assert [e["name"] for e in proxy.list_services()] == ["dummy"]


def test_entries_name_their_host_and_can_be_listed_by_host(
    registry: tuple[ControlServer, DeviceProxy], listener: Events
) -> None:
    _, proxy = registry
    assert proxy.register("procman@a", ENDS, {"host": "a"})["host"] == "a"
    proxy.register("procman@b", {"commands": "tcp://10.0.0.2:6040"}, {"host": "b"})
    proxy.register("dummy", {"commands": "tcp://10.0.0.2:7010"}, {"host": "b"})
    assert proxy.lookup("dummy")["host"] == "b"
    assert [e["name"] for e in proxy.list_services("b")] == ["dummy", "procman@b"]
    assert [e["name"] for e in proxy.list_services()] == ["dummy", "procman@a", "procman@b"]
    # The same name from another host is a server that moved: its listeners hear of it.
    proxy.register("dummy", {"commands": "tcp://10.0.0.2:7010"}, {"host": "c"})
    assert wait_until(lambda: [e["host"] for e in listener.named("server_up")][-1:] == ["c"])
    with pytest.raises(RemoteError, match="metadata host must be a host name"):
        proxy.register("psu", ENDS, {"host": ["a"]})


def test_a_bad_registration_is_refused_and_the_registry_serves_on(
    registry: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = registry
    with pytest.raises(RemoteError, match="not a reachable address") as refused:
        proxy.register("tempctl", {"commands": "tcp://0.0.0.0:7000"})
    assert refused.value.info.type == "InvalidRegistration"
    assert proxy.list_services() == []
    assert proxy.ping() == "pong"


def test_up_then_down_after_the_ttl_without_heartbeat(
    registry: tuple[ControlServer, DeviceProxy], listener: Events
) -> None:
    _, proxy = registry
    proxy.register("tempctl", ENDS, {"pid": 42})
    proxy.register("dummy", {"commands": "tcp://127.0.0.1:7010"})
    assert wait_until(lambda: len(listener.named("server_up")) == 2)
    assert listener.named("server_up")[0] == {
        "name": "tempctl",
        "host": "",
        "endpoints": ENDS,
        "metadata": {"pid": 42},
    }
    # tempctl keeps beating, dummy falls silent: only dummy expires.
    beating = threading.Event()
    stop = threading.Event()

    def beat() -> None:
        with make_proxy(Registry, proxy.endpoint, timeout=5.0) as own:
            while not stop.wait(TTL_S / 5):
                assert own.heartbeat("tempctl") == "ok"
                beating.set()

    thread = threading.Thread(target=beat)
    thread.start()
    try:
        assert wait_until(lambda: listener.named("server_down"), timeout_s=5 * TTL_S)
        assert beating.is_set()
        down = listener.named("server_down")
        assert [(d["name"], d["reason"]) for d in down] == [("dummy", "expired")]
        assert [e["name"] for e in proxy.list_services()] == ["tempctl"]
    finally:
        stop.set()
        thread.join()


def test_unregister_and_a_move_are_events_too(
    registry: tuple[ControlServer, DeviceProxy], listener: Events
) -> None:
    _, proxy = registry
    proxy.register("tempctl", ENDS)
    proxy.register("tempctl", ENDS)  # the same place again: no news
    proxy.register("tempctl", {**ENDS, "commands": "tcp://127.0.0.1:7100"})  # moved
    proxy.unregister("tempctl")
    assert wait_until(lambda: listener.named("server_down"))
    ups = listener.named("server_up")
    assert [u["endpoints"]["commands"] for u in ups] == [ENDS["commands"], "tcp://127.0.0.1:7100"]
    assert listener.named("server_down")[0]["reason"] == "unregistered"


def test_events_are_published_too(registry: tuple[ControlServer, DeviceProxy]) -> None:
    server, proxy = registry
    sub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"event/registry")
    sub.connect(server.pub_endpoint)
    try:
        published = received_event(sub, lambda: proxy.register("tempctl", ENDS))
    finally:
        sub.close()
    assert published["event"] == "server_up"
    assert published["name"] == "tempctl"


def received_event(sub: zmq.Socket[bytes], act: Callable[[], object]) -> dict[str, Any]:
    """Act until the subscription is live (a SUB misses what precedes its connection)."""
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    for _ in range(50):
        act()
        if poller.poll(100):
            _topic, *frames = sub.recv_multipart()
            values: dict[str, Any] = wire.unpack(frames)["values"]
            return values
    raise AssertionError("no event published")


def test_status_counts_the_services() -> None:
    with build_server(registry_settings(ttl_s=60.0)) as server:
        server.publisher.set_period("status", 0.02)
        with make_proxy(Registry, server.endpoint, timeout=5.0) as proxy:
            proxy.register("tempctl", ENDS)
            assert wait_until(lambda: _status(proxy).get("services") == 1)
            assert _status(proxy)["ttl_s"] == 60.0


def _status(proxy: DeviceProxy) -> dict[str, Any]:
    return dict((proxy.get_status() or {}).get("values") or {})
