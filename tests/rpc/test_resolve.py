"""Finding servers by name: through the registry, else from the Settings, quickly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlroom.config.settings import load_settings
from controlroom.device.proxy import proxy_class
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.resolve import (
    ServerDown,
    ServiceNotFound,
    lookup,
    proxy_for,
    registry_endpoint_of,
    resolve,
    settings_fallback,
)
from controlroom.services.registry.server import build_server
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

ANY_PORT = "tcp://127.0.0.1:0"
TEMPCTL = {"commands": "tcp://127.0.0.1:6700", "publish": "tcp://127.0.0.1:6701"}
MOVED = {"commands": "tcp://10.0.0.5:40001", "publish": "tcp://10.0.0.5:40002"}


@pytest.fixture
def registry() -> Iterator[ControlServer]:
    entry = {"commands": ANY_PORT, "publish": ANY_PORT, "ttl_s": 60.0}
    server = build_server({"services": {"registry": entry}})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dead_registry() -> str:
    """An address nobody listens on."""
    return f"tcp://127.0.0.1:{free_tcp_port()}"


def register(registry: ControlServer, name: str, endpoints: dict[str, str]) -> None:
    with Proxy(registry.endpoint, timeout=5.0) as proxy:
        proxy.request("register", (name, endpoints, {}))


def test_the_registry_wins_over_the_fallback(registry: ControlServer) -> None:
    register(registry, "tempctl", MOVED)
    found = resolve("tempctl", registry_endpoint=registry.endpoint, fallback={"tempctl": TEMPCTL})
    assert found == MOVED


def test_a_name_the_registry_does_not_know_comes_from_the_fallback(
    registry: ControlServer,
) -> None:
    found = resolve("tempctl", registry_endpoint=registry.endpoint, fallback={"tempctl": TEMPCTL})
    assert found == TEMPCTL


def test_a_dead_registry_costs_only_the_short_timeout(dead_registry: str) -> None:
    started = time.monotonic()
    found = resolve(
        "tempctl", registry_endpoint=dead_registry, fallback={"tempctl": TEMPCTL}, timeout_s=0.2
    )
    elapsed = time.monotonic() - started
    assert found == TEMPCTL
    assert 0.15 < elapsed < 1.0
    assert lookup("tempctl", dead_registry, timeout_s=0.05) is None


def test_without_a_registry_the_fallback_answers_at_once() -> None:
    wildcard = {"commands": "tcp://0.0.0.0:6700", "publish": "tcp://*:6701"}
    found = resolve("tempctl", registry_endpoint=None, fallback={"tempctl": wildcard})
    assert found == TEMPCTL  # a wildcard bind is reached through loopback on this host


@pytest.mark.parametrize(
    ("fallback", "message"),
    [
        ({}, "no endpoints in the settings"),
        ({"tempctl": {"commands": ANY_PORT}}, "no fixed port"),
        ({"tempctl": {"publish": "tcp://127.0.0.1:6701"}}, "no fixed port"),
    ],
)
def test_a_name_nobody_knows_is_an_error(
    dead_registry: str, fallback: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(ServiceNotFound, match=message) as missing:
        resolve("tempctl", registry_endpoint=dead_registry, fallback=fallback, timeout_s=0.05)
    assert isinstance(missing.value, LookupError)


def test_the_settings_give_the_registry_and_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_LOCAL_SETTINGS", raising=False)
    local = tmp_path / "local.yaml"
    local.write_text("services:\n  registry:\n    commands: tcp://0.0.0.0:6030\n")
    settings = load_settings(local)
    assert registry_endpoint_of(settings) == "tcp://127.0.0.1:6030"
    fallback = settings_fallback(settings)
    assert fallback["tempctl"] == TEMPCTL
    assert fallback["confman"]["commands"] == "tcp://127.0.0.1:6000"
    assert {"registry", "dummy", "procman"} <= set(fallback)


def test_a_device_proxy_by_name(registry: ControlServer) -> None:
    with ControlServer("dummy", DeviceService(DummySensor())) as server:
        register(registry, "dummy", {"commands": server.endpoint, "publish": server.pub_endpoint})
        with proxy_for(
            "dummy",
            registry_endpoint=registry.endpoint,
            proxy_type=proxy_class(DummySensor),
            timeout=5.0,
        ) as proxy:
            assert proxy.name == "dummy"
            assert proxy.endpoint == server.endpoint
            assert isinstance(proxy.read_value(), float)
        with proxy_for("dummy", registry_endpoint=registry.endpoint) as plain:
            assert type(plain) is Proxy
            assert plain.ping() == "pong"


def test_a_server_whose_heartbeats_stopped_fails_at_once_saying_since_when() -> None:
    entry = {"commands": ANY_PORT, "publish": ANY_PORT, "ttl_s": 0.2}
    registry = build_server({"services": {"registry": entry}})
    registry.start()
    try:
        with Proxy(registry.endpoint, timeout=5.0) as proxy:
            proxy.request("register", ("tempctl", MOVED, {"host": "cryo"}))
            # No heartbeat follows: the registry's sweeper marks it lost after its TTL.
            assert wait_until(lambda: proxy.request("lost", ("tempctl",)) is not None)
        with pytest.raises(ServerDown, match=r"tempctl \(host cryo\) is down: no heartbeat since"):
            resolve("tempctl", registry_endpoint=registry.endpoint, fallback={"tempctl": TEMPCTL})
        register(registry, "tempctl", MOVED)  # back: found again, no longer lost
        assert resolve("tempctl", registry_endpoint=registry.endpoint) == MOVED
    finally:
        registry.stop()


def test_a_wildcard_endpoint_in_the_settings_is_reached_at_its_hosts_address() -> None:
    settings = {
        "hosts": {"server": "198.51.100.1", "cryo": "198.51.100.2"},
        "services": {"registry": {"commands": "tcp://0.0.0.0:6030", "host": "server"}},
        "devices": {"tempctl": {"commands": "tcp://*:6700", "publish": "tcp://0.0.0.0:6701"}},
    }
    settings["devices"]["tempctl"]["host"] = "cryo"
    assert registry_endpoint_of(settings) == "tcp://198.51.100.1:6030"
    assert settings_fallback(settings)["tempctl"] == {
        "commands": "tcp://198.51.100.2:6700",
        "publish": "tcp://198.51.100.2:6701",
    }
