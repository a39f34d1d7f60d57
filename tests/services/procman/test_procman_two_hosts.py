"""Two hosts' process managers on one lab: each runs its share and follows the one Setup.

Both hosts share this machine here, so the Settings place the core services
with ``host:`` keys and each process manager is told its host; each keeps
its children's logs and ledger in a folder of its own, as on two machines.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from procman_helpers import SERVICES

from controlroom.config.settings import Settings, load_settings
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.rpc.hosts import HOST_ENV
from controlroom.services.confman.server import ConfigurationManager
from controlroom.services.procman.confmanlink import ConfmanLink
from controlroom.services.procman.server import ProcessManager, build_server
from controlroom.services.procman.supervisor import Policy, Supervisor
from controlroom.testing.waiting import wait_until

ANY = "tcp://127.0.0.1:0"
SETUP = {"devices": {"dummy": {"host": "bench"}, "tempctl": {"simulated": True}}}


@pytest.fixture
def lab_settings(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The process manager tests' Settings with a server and a bench host on this machine."""
    services = {name: {"host": "server"} for name in SERVICES}
    path = tmp_path / "two-hosts.yaml"
    local = yaml.safe_load(Path(os.environ["CONTROLROOM_LOCAL_SETTINGS"]).read_text())
    local.update(hosts={"server": "127.0.0.1", "bench": "127.0.0.1"})
    for name, entry in services.items():
        local["services"][name].update(entry)
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))  # the children read it
    return load_settings(path)


def manager_of(settings: Settings, host: str, folder: Path) -> ProcessManager:
    env = {**os.environ, HOST_ENV: host}  # its children know their host too
    supervisor = Supervisor(Policy.from_settings(settings), folder / host, env=env)
    return ProcessManager(settings, supervisor, host=host)


@pytest.fixture
def managers(
    lab_settings: Settings, tmp_path: Path
) -> Iterator[dict[str, tuple[ControlServer, DeviceProxy]]]:
    served: dict[str, tuple[ControlServer, DeviceProxy]] = {}
    try:
        for host in ("server", "bench"):
            manager = manager_of(lab_settings, host, tmp_path)
            server = build_server(lab_settings, manager, endpoint=ANY, pub_endpoint=ANY)
            server.start()
            served[host] = (server, make_proxy(ProcessManager, server.endpoint, timeout=120.0))
        yield served
    finally:
        for server, proxy in served.values():
            proxy.close()
            server.stop(timeout=30.0)


def states(proxy: DeviceProxy) -> dict[str, str]:
    return {p["name"]: p["state"] for p in proxy.list_processes()}


@pytest.mark.integration
def test_each_host_runs_its_share_of_the_setup(
    managers: dict[str, tuple[ControlServer, DeviceProxy]],
) -> None:
    (server, on_server), (bench_server, on_bench) = managers["server"], managers["bench"]
    assert server.name == "procman@server" and bench_server.name == "procman@bench"
    assert states(on_bench) == {}  # the core services are the server host's
    on_server.start_all()
    on_bench.start_all()  # waits for the server host's configuration manager, finds no Setup
    confman = {p["name"]: p for p in on_server.list_processes()}["confman"]
    with make_proxy(ConfigurationManager, confman["endpoints"]["commands"], timeout=10) as proxy:
        # Each under a name of its own: neither replaced the other.
        listed = proxy.request("register_listener", ("census", "tcp://127.0.0.1:9", []))
        proxy.request("unregister_listener", ("census",))
        assert {"procman@server", "procman@bench"} <= {entry["name"] for entry in listed}
        proxy.load_setup(proxy.submit_setup(SETUP, "dummy on the bench, tempctl on the server"))
    on_bench_now = {"dummy": "running"}
    assert wait_until(lambda: states(on_bench) == on_bench_now, 30.0), states(on_bench)
    on_server_now = {**dict.fromkeys(SERVICES, "running"), "tempctl-sim": "running"}
    on_server_now["tempctl"] = "running"
    assert wait_until(lambda: states(on_server) == on_server_now, 30.0), states(on_server)
    registry = {p["name"]: p for p in on_server.list_processes()}["registry"]["endpoints"]
    with Proxy(registry["commands"], timeout=10.0) as proxy:
        entry = lambda: proxy.request("lookup", ("dummy",)) or {}  # noqa: E731
        assert wait_until(lambda: entry().get("host") == "bench", 10.0), entry()
    status = lambda: (on_bench.get_status() or {}).get("values", {})  # noqa: E731
    assert wait_until(lambda: status().get("host") == "bench", 10.0), status()


def test_a_configuration_manager_of_another_host_is_followed(lab_settings: Settings) -> None:
    context = {"setup_id": None}
    confman = ControlServer("confman", FunctionTable({"get_context": lambda: dict(context)}))
    confman.start()
    stopping = threading.Event()
    changes: list[Any] = []
    settings = {**lab_settings, "services": {**lab_settings["services"]}}
    settings["services"]["confman"] = {**settings["services"]["confman"]}
    settings["services"]["confman"]["commands"] = confman.endpoint
    link = ConfmanLink(settings, name="procman@bench", local=dict, listener=lambda: "tcp://x:1")
    known = lambda: None  # noqa: E731 (the Setup id the process manager follows)
    follower = threading.Thread(
        target=link.follow, args=(stopping, known, lambda: changes.append(1), 0.05)
    )
    follower.start()
    try:
        # Listening again at every turn: a restarted one learns about us.
        assert wait_until(lambda: confman.notifier.describe() != [], 10.0)
        assert confman.notifier.describe()[0]["name"] == "procman@bench"
        assert changes == []
        context["setup_id"] = 7  # a new Setup whose new_setup we missed
        assert wait_until(lambda: changes, 10.0)
    finally:
        stopping.set()
        follower.join()
        confman.stop()
