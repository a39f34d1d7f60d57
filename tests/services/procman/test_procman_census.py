"""The census of a lab on several hosts: each host's process manager, found in the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.services.procman.census import _reachable, take_census
from controlroom.services.procman.probe import probe
from controlroom.services.registry.server import build_server as build_registry
from controlroom.testing.ports import free_tcp_port

ANY = "tcp://127.0.0.1:0"
LOOP = "tcp://127.0.0.1:6700"
CORE = ("registry", "logman", "confman", "storage", "scheduler", "scenarios")

Serve = Callable[..., ControlServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start control servers answering ``commands``; all stopped at the end."""
    made: list[ControlServer] = []

    def start(name: str, commands: dict[str, Callable[..., Any]] | None = None) -> ControlServer:
        server = ControlServer(name, FunctionTable(commands or {}))
        server.start()
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


@pytest.fixture
def registry() -> Iterator[ControlServer]:
    server = build_registry({"services": {"registry": {"commands": ANY, "publish": ANY}}}, ttl_s=30)
    server.start()
    yield server
    server.stop()


def settings_of(registry: str, hosts: dict[str, str]) -> dict[str, Any]:
    services = {name: {"commands": f"tcp://127.0.0.1:{free_tcp_port()}"} for name in CORE}
    for entry in services.values():
        entry["publish"] = ANY
    services["registry"]["commands"] = registry
    return {"site": "LAB", "hosts": {"default": "127.0.0.1", **hosts}, "services": services}


def register(registry: ControlServer, name: str, server: ControlServer, host: str) -> None:
    with Proxy(registry.endpoint, timeout=5.0) as proxy:
        proxy.request("register", (name, {"commands": server.endpoint}, {"host": host}))


def listing(*rows: dict[str, Any]) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [dict(row) for row in rows]


def process(name: str, server: ControlServer | None, **fields: Any) -> dict[str, Any]:
    endpoints = {"commands": server.endpoint} if server is not None else {}
    return {"name": name, "kind": "device", "state": "running", "endpoints": endpoints, **fields}


def test_every_host_is_listed_with_what_its_process_manager_runs(
    registry: ControlServer, serve: Serve
) -> None:
    dummy, psu = serve("dummy"), serve("psu")
    here = serve("procman@server", {"list_processes": listing(process("dummy", dummy))})
    stale = {"commands": f"tcp://127.0.0.1:{free_tcp_port()}"}
    bench_rows = listing(
        {**process("psu", None), "endpoints": stale},  # the registry knows better
        process("motion", None, kind="web", pid=4242, started=1.0),  # its own protocol
        {**process("daq", None), "endpoints": stale},  # gone without a word
    )
    bench = serve("procman@bench", {"list_processes": bench_rows})
    register(registry, "procman@bench", bench, "bench")
    register(registry, "psu", psu, "bench")
    register(registry, "procman@far", bench, "far")  # on loopback of another machine
    hosts = {"server": "127.0.0.1", "bench": "127.0.0.2", "desk": "10.0.0.3", "far": "10.0.0.4"}
    settings = settings_of(registry.endpoint, hosts)
    census = take_census(settings, here.endpoint, timeout=1.0, me="server")

    assert census["host"] == "server" and census["procman"] and census["registry"]
    summary = {host["name"]: host for host in census["hosts"]}
    assert list(summary) == ["server", "bench", "desk", "far"]  # `default` is no host here
    assert summary["bench"]["procman"] == bench.endpoint
    assert summary["bench"]["processes"] == 3 and summary["bench"]["up"] == 2
    assert summary["desk"]["procman"] is None and summary["desk"]["processes"] == 0
    assert summary["far"]["procman"] is None and "over there" in summary["far"]["note"]
    rows = {(row["host"], row["name"]): row for row in census["processes"]}
    assert set(rows) == {
        ("server", "procman"),
        ("server", "dummy"),
        ("bench", "procman"),
        ("bench", "psu"),
        ("bench", "motion"),
        ("bench", "daq"),
        ("desk", "procman"),
        ("far", "procman"),
    }
    assert rows["server", "dummy"]["up"] and rows["bench", "procman"]["up"]
    assert rows["bench", "psu"]["up"] and rows["bench", "psu"]["endpoints"]["commands"] == (
        psu.endpoint
    )
    assert rows["bench", "motion"]["up"]  # running, says its process manager
    assert not rows["bench", "daq"]["up"] and rows["bench", "daq"]["note"]
    assert not rows["desk", "procman"]["up"]  # nothing runs there
    assert census["all_up"] is False


def test_a_server_bound_to_loopback_on_another_machine_is_taken_at_its_word() -> None:
    settings = {"hosts": {"server": "10.0.0.1", "bench": "10.0.0.2"}}
    row = {"name": "daq", "host": "bench", "state": "running", "endpoints": {"commands": LOOP}}
    seen = _reachable(settings, "server", row, {})
    assert seen["unreachable"] and "bound on host bench" in seen["note"]
    assert probe(seen, 0.1, here=False)["up"]
    registered = {"daq": {"host": "bench", "endpoints": {"commands": "tcp://10.0.0.2:7"}}}
    assert _reachable(settings, "server", row, registered)["endpoints"]["commands"] == (
        "tcp://10.0.0.2:7"
    )


def test_without_a_registry_this_host_is_still_counted(serve: Serve) -> None:
    dummy = serve("dummy")
    here = serve("procman@server", {"list_processes": listing(process("dummy", dummy))})
    nowhere = f"tcp://127.0.0.1:{free_tcp_port()}"
    settings = settings_of(nowhere, {"server": "127.0.0.1", "bench": "10.0.0.2"})
    census = take_census(settings, here.endpoint, timeout=0.3, me="server")
    assert census["registry"] is False and census["procman"]
    summary = {host["name"]: host for host in census["hosts"]}
    assert summary["server"]["up"] == 1 and summary["bench"]["procman"] is None
    assert summary["bench"]["note"] == "the registry does not answer"


def test_a_probed_server_tells_who_holds_its_lease(serve: Serve) -> None:
    psu = serve("psu", {"set_voltage": lambda volts: volts})
    assert probe(process("psu", psu), timeout=5.0)["lease"] is None
    with Proxy(
        psu.endpoint, timeout=5.0, on_behalf={"user": "ada", "role": "operator", "via": "web"}
    ) as ada:
        ada.lease(60)
        lease = probe(process("psu", psu), timeout=5.0)["lease"]
    assert lease["holder"] == "ada via web (key anonymous)"
    assert lease["until"].endswith("Z")
