"""Finding servers by name: through the registry, else from the Settings, quickly."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

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


@pytest.fixture
def silent_registry() -> Iterator[str]:
    """The address of a registry that takes every request and never answers."""
    router: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    yield f"tcp://127.0.0.1:{port}"
    router.close()


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


def test_a_dead_registry_leaves_the_answer_to_the_fallback(dead_registry: str) -> None:
    found = resolve(
        "tempctl", registry_endpoint=dead_registry, fallback={"tempctl": TEMPCTL}, timeout_s=0.2
    )
    assert found == TEMPCTL
    assert lookup("tempctl", dead_registry, timeout_s=0.05) is None


def test_a_registry_that_never_answers_is_given_only_the_callers_timeout(
    silent_registry: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="controlroom.rpc.resolve"):
        found = resolve(
            "tempctl",
            registry_endpoint=silent_registry,
            fallback={"tempctl": TEMPCTL},
            timeout_s=0.2,
        )
    assert found == TEMPCTL
    # The registry was asked, and the wait that ended in the fallback was the
    # caller's 0.2 s, not a longer default.
    [gave_up] = [r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()]
    assert "within 0.2 s" in gave_up, gave_up


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
