"""The process manager as a control server, running the real core services and devices."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from procman_helpers import SERVICES

from controlroom.config.settings import Settings
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, RemoteError
from controlroom.services.confman.server import ConfigurationManager
from controlroom.services.procman.server import ProcessManager, build_manager, build_server
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

Event = dict[str, Any]


@pytest.fixture
def procman(settings: Settings) -> Iterator[tuple[ControlServer, DeviceProxy]]:
    server = build_server(settings, build_manager(settings))
    server.start()
    proxy = make_proxy(ProcessManager, server.endpoint, timeout=120.0)
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop(timeout=30.0)


@pytest.fixture
def heard(procman: tuple[ControlServer, DeviceProxy]) -> Iterator[list[Event]]:
    """The process events the process manager sends to a listener."""
    received: list[Event] = []
    listener = ControlServer("watcher", DeviceService(DummySensor()))
    listener.on_event("*", received.append)
    listener.start()
    events = ["process_started", "process_exited", "process_failed"]
    procman[1].request("register_listener", ("watcher", listener.endpoint, events))
    yield received
    listener.stop()


def states(proxy: DeviceProxy) -> dict[str, str]:
    return {p["name"]: p["state"] for p in proxy.list_processes()}


def test_processes_are_listed_started_and_stopped_by_name(
    procman: tuple[ControlServer, DeviceProxy], heard: list[Event]
) -> None:
    _, proxy = procman
    assert states(proxy) == dict.fromkeys(SERVICES, "stopped")
    process = proxy.start("registry")
    assert process["state"] == "running" and process["kind"] == "service"
    assert process["command"][-3:] == ["-m", "controlroom.processes.service", "registry"]
    assert psutil.pid_exists(process["pid"])
    assert proxy.restart("registry")["pid"] != process["pid"]
    stopped = proxy.stop("registry")
    assert stopped["state"] == "stopped" and stopped["pid"] is None
    assert wait_until(lambda: len(heard) >= 4, 5.0)
    assert [(e["event"], e["data"]["name"]) for e in heard[:4]] == [
        ("process_started", "registry"),
        ("process_exited", "registry"),
        ("process_started", "registry"),
        ("process_exited", "registry"),
    ]


@pytest.mark.parametrize("name", ["rm -rf /", "/bin/sh", "dummy"])
def test_names_it_does_not_manage_are_refused(
    procman: tuple[ControlServer, DeviceProxy], name: str
) -> None:
    _, proxy = procman
    with pytest.raises(RemoteError, match=r"UnknownProcess.*is managed here"):
        proxy.start(name)
    assert states(proxy) == dict.fromkeys(SERVICES, "stopped")


def test_start_all_follows_the_setup_and_its_changes(
    procman: tuple[ControlServer, DeviceProxy], heard: list[Event]
) -> None:
    server, proxy = procman
    proxy.start_all()
    assert states(proxy) == dict.fromkeys(SERVICES, "running")
    endpoint = {p["name"]: p for p in proxy.list_processes()}["confman"]["endpoints"]["commands"]
    with make_proxy(ConfigurationManager, endpoint, timeout=10.0) as confman:
        setup = {"devices": {"dummy": {}, "tempctl": {"simulated": True}}}
        confman.load_setup(confman.submit_setup(setup, "dummy and simulated tempctl"))
        expected = {**dict.fromkeys(SERVICES, "running"), "dummy": "running"}
        expected.update({"tempctl-sim": "running", "tempctl": "running"})
        assert wait_until(lambda: states(proxy) == expected, 30.0), states(proxy)
        processes = {p["name"]: p for p in proxy.list_processes()}
        transport = processes["tempctl-sim"]["endpoints"]["transport"]
        command = processes["tempctl"]["command"]
        assert command[command.index("--transport") + 1] == transport
        assert server.services.get_status() is not None

        # A restarted configuration manager still tells us about new Setups.
        os.kill(processes["confman"]["pid"], signal.SIGKILL)
        assert wait_until(lambda: _restarted(proxy, "confman"), 20.0)
        confman.load_setup(confman.submit_setup({"devices": {"dummy": {}}}, "dummy only"))
        expected = {**dict.fromkeys(SERVICES, "running"), "dummy": "running"}
        assert wait_until(lambda: states(proxy) == expected, 30.0), states(proxy)
    assert not psutil.pid_exists(processes["tempctl"]["pid"])
    assert proxy.reload_setup()["setup_id"] == 2
    crash = [e["data"] for e in heard if e["event"] == "process_exited"]
    assert any(d["name"] == "confman" and d["exit_code"] == -9 and not d["expected"] for d in crash)


def test_stopping_the_process_manager_stops_its_children(settings: Settings) -> None:
    server = build_server(settings, build_manager(settings))
    server.start()
    try:
        with make_proxy(ProcessManager, server.endpoint, timeout=120.0) as proxy:
            pids = [p["pid"] for p in proxy.start_all()]
    finally:
        server.stop(timeout=30.0)
    assert len(pids) == len(SERVICES) and all(pids)
    assert not any(psutil.pid_exists(pid) for pid in pids)


def _restarted(proxy: DeviceProxy, name: str) -> bool:
    process = {p["name"]: p for p in proxy.list_processes()}[name]
    return bool(process["restarts"] == 1 and process["state"] == "running")
