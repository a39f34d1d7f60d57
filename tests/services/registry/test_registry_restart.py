"""kill -9 the registry process and start it again: the live servers re-register by themselves."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.registration import Registration, attach_registration
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.processes import ServerProcess
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

BEAT_S = 0.1
NAMES = ("dummy-a", "dummy-b")


def registry_process(endpoint: str) -> ServerProcess:
    argv = [sys.executable, "-m", "controlroom.processes.service", "registry"]
    options = ["--endpoint", endpoint, "--pub-endpoint", "tcp://127.0.0.1:0", "--ttl", "1.0"]
    return ServerProcess([*argv, *options])


@pytest.fixture
def live_servers() -> Iterator[list[ControlServer]]:
    servers = [ControlServer(name, DeviceService(DummySensor())) for name in NAMES]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def registered_names(endpoint: str) -> set[str]:
    with Proxy(endpoint, timeout=2.0) as registry:
        return {entry["name"] for entry in registry.request("list_services")}


def test_a_killed_registry_is_repopulated_after_its_restart(
    live_servers: list[ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONTROLROOM_LOCAL_SETTINGS", raising=False)
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    registrations: list[Registration] = []
    with registry_process(endpoint) as first:
        registrations = [attach_registration(s, endpoint, heartbeat_s=BEAT_S) for s in live_servers]
        try:
            assert all(r.registered.wait(10.0) for r in registrations)
            assert registered_names(endpoint) == set(NAMES)
            first.kill()  # SIGKILL: the registry's memory is gone
            with registry_process(endpoint) as second:
                assert second.endpoint == endpoint
                # Within a few heartbeats (about two here; 20 allowed on a loaded machine): a
                # heartbeat answered "unknown" is followed by a new registration.
                assert wait_until(lambda: registered_names(endpoint) == set(NAMES), 20 * BEAT_S)
                assert [r.registrations for r in registrations] == [2, 2]
        finally:
            for registration in registrations:
                registration.stop()
