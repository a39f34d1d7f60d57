"""Servers register themselves with the registry, keep beating, re-register, advertise a host."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controlroom.config.settings import load_settings
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.keyring import Keyring
from controlroom.rpc.registration import (
    Registration,
    advertise_host_of,
    advertised,
    attach_from_settings,
    attach_registration,
)
from controlroom.services.registry.server import build_server
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

ANY_PORT = "tcp://127.0.0.1:0"
BEAT_S = 0.05


def start_registry(endpoint: str = ANY_PORT, ttl_s: float = 0.5) -> ControlServer:
    entry = {"commands": endpoint, "publish": ANY_PORT, "ttl_s": ttl_s}
    server = build_server({"services": {"registry": entry}})
    server.start()
    return server


@pytest.fixture
def registry() -> Iterator[ControlServer]:
    server = start_registry()
    yield server
    server.stop()


@pytest.fixture
def registered() -> Iterator[Callable[..., Registration]]:
    """attach_registration, with every registration stopped at the end of the test."""
    made: list[Registration] = []

    def attach(server: ControlServer, endpoint: str, **options: Any) -> Registration:
        options.setdefault("heartbeat_s", BEAT_S)
        registration = attach_registration(server, endpoint, **options)
        made.append(registration)
        return registration

    yield attach
    for registration in made:
        registration.stop()


@pytest.fixture
def dummy_server() -> Iterator[Callable[..., ControlServer]]:
    made: list[ControlServer] = []

    def make(name: str = "dummy", endpoint: str = ANY_PORT) -> ControlServer:
        server = ControlServer(name, DeviceService(DummySensor()), endpoint=endpoint)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def lookup(registry: ControlServer, name: str) -> dict[str, Any] | None:
    with Proxy(registry.endpoint, timeout=5.0) as proxy:
        return proxy.request("lookup", (name,))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ("tcp://0.0.0.0:6700", "tcp://lab-pc.example.org:6700"),
        ("tcp://*:6700", "tcp://lab-pc.example.org:6700"),
        ("tcp://[::]:6700", "tcp://lab-pc.example.org:6700"),
        ("tcp://127.0.0.1:6700", "tcp://127.0.0.1:6700"),
        ("tcp://localhost:6700", "tcp://127.0.0.1:6700"),
        ("tcp://192.168.1.20:6700", "tcp://192.168.1.20:6700"),
        ("ipc:///tmp/tempctl", "ipc:///tmp/tempctl"),
    ],
)
def test_what_a_bound_address_advertises(bound: str, expected: str) -> None:
    assert advertised(bound, "lab-pc.example.org") == expected


def test_a_wildcard_without_a_host_advertises_the_machine_name() -> None:
    assert advertised("tcp://0.0.0.0:6700") == f"tcp://{socket.gethostname()}:6700"


@pytest.mark.parametrize(
    ("option", "hosts", "host", "expected"),
    [
        ("10.0.0.9", {"lab-pc": "10.0.0.1", "default": "127.0.0.1"}, "lab-pc", "10.0.0.9"),
        ("", {"lab-pc": "10.0.0.1", "default": "127.0.0.1"}, "lab-pc", "10.0.0.1"),
        ("", {"bench": "10.0.0.3", "default": "10.0.0.2"}, "bench", "10.0.0.3"),
        ("", {"default": "10.0.0.2"}, "bench", "10.0.0.2"),
        ("", {}, "default", socket.gethostname()),
    ],
)
def test_the_advertised_host_comes_from_the_settings(
    option: str, hosts: dict[str, str], host: str, expected: str
) -> None:
    settings = {"hosts": hosts, "services": {"registry": {"advertise_host": option}}}
    assert advertise_host_of(settings, host) == expected


def test_a_host_named_in_the_environment_is_advertised_and_registered(
    secured_instance: Keyring,
    registry: ControlServer,
    dummy_server: Callable[..., ControlServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two hosts sharing this machine: only CONTROLROOM_HOST tells them apart.
    hosts = {"a": "10.0.0.1", "b": "10.0.0.2"}
    settings = {
        "hosts": hosts,
        "services": {
            "registry": {"commands": registry.endpoint, "heartbeat_s": 0.05, "advertise_host": ""}
        },
    }
    monkeypatch.setenv("CONTROLROOM_HOST", "b")
    assert advertise_host_of(settings) == "10.0.0.2"
    server = dummy_server(endpoint="tcp://*:0")
    server.start()
    registration = attach_from_settings(server, settings)
    try:
        assert registration.registered.wait(5.0)
        entry = lookup(registry, "dummy")
        assert entry is not None and entry["host"] == "b"
        assert entry["metadata"]["host"] == "b"
        assert entry["metadata"]["machine"] == socket.gethostname()
        assert entry["endpoints"]["commands"].startswith("tcp://10.0.0.2:")
    finally:
        registration.stop()
    monkeypatch.setenv("CONTROLROOM_HOST", "c")
    with pytest.raises(ValueError, match="CONTROLROOM_HOST: 'c' is not a host of the Settings"):
        attach_from_settings(server, settings)


def test_a_server_registers_its_actual_endpoints_once_it_serves_and_leaves_when_it_stops(
    registry: ControlServer,
    registered: Callable[..., Registration],
    dummy_server: Callable[..., ControlServer],
) -> None:
    server = dummy_server()
    registration = registered(server, registry.endpoint, metadata={"device": "dummy"})
    assert not registration.registered.wait(0.2)  # attached before start: waits for the server
    server.start()
    assert registration.registered.wait(5.0)
    entry = lookup(registry, "dummy")
    assert entry is not None
    assert entry["endpoints"] == {"commands": server.endpoint, "publish": server.pub_endpoint}
    assert not server.endpoint.endswith(":0")
    assert entry["metadata"]["device"] == "dummy"
    assert entry["metadata"]["host"] == socket.gethostname()
    assert wait_until(lambda: (lookup(registry, "dummy") or {}).get("heartbeats", 0) >= 3)
    server.stop()
    assert wait_until(lambda: lookup(registry, "dummy") is None, timeout_s=10.0)
    assert registration.registrations == 1


def test_heartbeats_outlive_the_ttl(
    registry: ControlServer,
    registered: Callable[..., Registration],
    dummy_server: Callable[..., ControlServer],
) -> None:
    server = dummy_server()
    server.start()
    registration = registered(server, registry.endpoint)
    assert registration.registered.wait(5.0)
    # Three TTLs (0.5 s each) pass; the entry stays, without any re-registration.
    assert not wait_until(lambda: lookup(registry, "dummy") is None, timeout_s=1.5)
    assert registration.registrations == 1


def test_a_wildcard_bind_advertises_the_host_from_the_settings(
    secured_instance: Keyring,
    registry: ControlServer,
    registered: Callable[..., Registration],
    dummy_server: Callable[..., ControlServer],
) -> None:
    server = dummy_server(endpoint="tcp://0.0.0.0:0")
    server.start()
    registration = registered(server, registry.endpoint, advertise_host="lab-pc-7.example.org")
    assert registration.registered.wait(5.0)
    entry = lookup(registry, "dummy")
    assert entry is not None
    port = server.endpoint.rsplit(":", 1)[1]
    assert entry["endpoints"]["commands"] == f"tcp://lab-pc-7.example.org:{port}"
    assert entry["endpoints"]["publish"] == server.pub_endpoint  # bound to loopback


def test_attach_from_settings_uses_their_registry_period_and_host(
    secured_instance: Keyring,
    registry: ControlServer,
    dummy_server: Callable[..., ControlServer],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(
        f"hosts:\n  {socket.gethostname()}: 10.1.2.3\n"
        f"services:\n  registry:\n    commands: {registry.endpoint}\n    heartbeat_s: 0.05\n"
    )
    monkeypatch.delenv("CONTROLROOM_LOCAL_SETTINGS", raising=False)
    settings = load_settings(local)
    server = dummy_server(endpoint="tcp://*:0")
    server.start()
    registration = attach_from_settings(server, settings, metadata={"simulated": True})
    try:
        assert registration.heartbeat_s == 0.05
        assert registration.registered.wait(5.0)
        entry = lookup(registry, "dummy")
        assert entry is not None
        assert entry["endpoints"]["commands"].startswith("tcp://10.1.2.3:")
        assert entry["metadata"]["simulated"] is True
    finally:
        registration.stop()


def test_a_registry_that_starts_late_or_restarts_is_populated_by_the_servers(
    registered: Callable[..., Registration], dummy_server: Callable[..., ControlServer]
) -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    server = dummy_server()
    server.start()
    registration = registered(server, endpoint)
    assert not registration.registered.wait(0.3)  # no registry yet: the server serves on
    with Proxy(server.endpoint) as proxy:
        assert proxy.ping() == "pong"
    first = start_registry(endpoint)
    try:
        assert registration.registered.wait(5.0)
        assert registration.registrations == 1
    finally:
        first.stop()
    # ZeroMQ releases the port in its I/O thread, a moment after stop returns.
    assert wait_until(lambda: _bindable(endpoint), timeout_s=10.0), f"{endpoint} stays taken"
    second = start_registry(endpoint)  # knows nothing: the heartbeat is answered "unknown"
    try:
        assert wait_until(lambda: lookup(second, "dummy") is not None, timeout_s=5.0)
        # Counted once the registry has answered, so a moment after it lists the server.
        assert wait_until(lambda: registration.registrations == 2)
    finally:
        second.stop()


def _bindable(endpoint: str) -> bool:
    """True if a server could bind ``endpoint`` now (with SO_REUSEADDR, as ZeroMQ does)."""
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def test_stopping_the_registration_unregisters_at_once(
    registry: ControlServer,
    registered: Callable[..., Registration],
    dummy_server: Callable[..., ControlServer],
) -> None:
    server = dummy_server()
    server.start()
    registration = registered(server, registry.endpoint, heartbeat_s=10.0)
    assert registration.registered.wait(5.0)
    registration.stop()
    assert not registration.registered.is_set()
    assert lookup(registry, "dummy") is None
    with Proxy(server.endpoint) as proxy:
        assert proxy.ping() == "pong"


def test_a_heartbeat_period_must_be_positive(dummy_server: Callable[..., ControlServer]) -> None:
    with pytest.raises(ValueError, match="positive"):
        Registration(dummy_server(), ANY_PORT, heartbeat_s=0)
