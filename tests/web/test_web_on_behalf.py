"""The panel calls for its users: the control server checks and journals the person, not the panel.

Real control servers in this process (a bench device, a stand-in
configuration manager, a stand-in node bridge), each journaling what it ran
through its command observers, and the panel in process with them as its
targets. Without CURVE the panel is ``anonymous`` on loopback (a delegate),
so the journal reads ``otto via web (key anonymous)``; with the lab key it
reads ``(key lab)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, login

from controlroom.rpc import ControlServer, FunctionTable
from controlroom.rpc.hooks import CommandRecord
from controlroom.rpc.keyring import Keyring
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import BRIDGE, DEVICE, SERVICE, Target
from controlroom.web.pages.devicelink import send_command

ANY_PORT = "tcp://127.0.0.1:0"
Journal = list[CommandRecord]


def _bench() -> FunctionTable:
    state = {"offset": 0.0}

    def set_offset(value: float) -> float:
        state["offset"] = value
        return value

    return FunctionTable(
        {"set_offset": set_offset, "get_offset": lambda: state["offset"]},
        access={"get_offset": "read"},
    )


def _confman() -> FunctionTable:
    def load_setup(setup_id: int) -> dict[str, Any]:
        return {"_meta": {"id": setup_id}}

    return FunctionTable(
        {
            "load_setup": load_setup,
            "get_context": lambda: {"site": "LAB", "setup_id": None, "obsid": None},
            "list_setups": lambda site=None: [],
        },
        access={"get_context": "read", "list_setups": "read"},
    )


def _node_bridge() -> FunctionTable:
    def send(node: str, text: str) -> dict[str, Any]:
        return {"node": node, "text": text, "bytes": len(text) + 1}

    return FunctionTable(
        {
            "nodes": lambda: [{"node": "n1"}],
            "node": lambda node: {"node": node, "connected": True},
            "send": send,
        },
        access={"nodes": "read", "node": "read"},
    )


SERVERS: dict[str, tuple[str, Callable[[], FunctionTable]]] = {
    "bench": (DEVICE, _bench),
    "confman": (SERVICE, _confman),
    "nodes": (BRIDGE, _node_bridge),
}


@pytest.fixture
def servers() -> Iterator[dict[str, ControlServer]]:
    """The three servers, each with its journal as ``server.journal``."""
    started: dict[str, ControlServer] = {}
    for name, (_, table) in SERVERS.items():
        server = ControlServer(name, table(), endpoint=ANY_PORT, pub_endpoint=ANY_PORT)
        journal: Journal = []
        server.hooks.command_observers.append(journal.append)
        server.journal = journal  # type: ignore[attr-defined]
        server.start()
        started[name] = server
    yield started
    for server in started.values():
        server.stop()


def _journal(server: ControlServer) -> list[tuple[str, str, bool]]:
    records: Journal = server.journal  # type: ignore[attr-defined]
    return [(r.command, r.caller, r.ok) for r in records]


def _panel(make_client: MakeClient, servers: dict[str, ControlServer], **web: Any) -> TestClient:
    targets = {
        name: Target(name, SERVERS[name][0], server.endpoint, server.pub_endpoint)
        for name, server in servers.items()
    }
    client = make_client(targets=targets, **web)
    hub = client.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: all(hub.servers().get(n, {}).get("up") for n in SERVERS), 10)
    return client


def _command(client: TestClient, csrf: str, value: float) -> Any:
    response = client.post(
        "/api/device/bench/command",
        json={"command": "set_offset", "args": {"value": value}},
        headers={"X-CSRF-Token": csrf},
    )
    return response


def _everything_an_operator_does(client: TestClient, csrf: str) -> None:
    headers = {"X-CSRF-Token": csrf}
    done = _command(client, csrf, 2.5)
    assert done.status_code == 200 and done.json()["ok"] is True, done.text
    loaded = client.post("/api/setups/7/load", headers=headers)
    assert loaded.status_code == 200, loaded.text
    sent = client.post("/api/nodes/n1/send", json={"text": "PING"}, headers=headers)
    assert sent.status_code == 200, sent.text


def test_each_command_of_an_operator_is_journaled_with_their_name(
    make_client: MakeClient, servers: dict[str, ControlServer]
) -> None:
    client = _panel(make_client, servers)
    _everything_an_operator_does(client, login(client, "otto"))
    who = "otto via web (key anonymous)"
    assert _journal(servers["bench"]) == [("set_offset", who, True)]
    assert _journal(servers["confman"]) == [("load_setup", who, True)]
    # The reads the route made before the send were for the user too.
    assert _journal(servers["nodes"]) == [
        ("nodes", who, True),
        ("node", who, True),
        ("send", who, True),
    ]


def test_the_server_refuses_a_viewer_whose_command_reaches_it(
    make_client: MakeClient, servers: dict[str, ControlServer]
) -> None:
    client = _panel(make_client, servers)
    assert _command(client, login(client, "vera"), 1.0).status_code == 403  # the panel's check
    # The same call with the panel's check out of the way: the server's own refuses it.
    bench = servers["bench"]
    vera = {"user": "vera", "role": "viewer", "via": "web"}
    outcome = send_command("bench", bench.endpoint, "set_offset", {"value": 1.0}, 5.0, caller=vera)
    assert outcome["ok"] is False and outcome["error"]["type"] == "Forbidden"
    assert "vera via web (key anonymous) (viewer)" in outcome["error"]["message"]
    assert "needs the operator role" in outcome["error"]["message"]
    assert _journal(bench) == [("set_offset", "vera via web (key anonymous)", False)]


def test_an_anonymous_visitor_commands_with_the_anonymous_role(
    make_client: MakeClient, servers: dict[str, ControlServer]
) -> None:
    client = _panel(make_client, servers, allow_anonymous=True, anonymous_role="operator")
    me = client.get("/api/session").json()
    assert me["anonymous"] and me["role"] == "operator"
    assert _command(client, me["csrf"], 4.0).json()["ok"] is True
    assert _journal(servers["bench"]) == [("set_offset", "anonymous via web (key anonymous)", True)]


def test_with_curve_the_panel_calls_with_the_lab_key_for_its_user(
    secured_instance: Keyring, make_client: MakeClient, servers: dict[str, ControlServer]
) -> None:
    assert servers["bench"].secured
    client = _panel(make_client, servers)
    _everything_an_operator_does(client, login(client, "ada"))
    who = "ada via web (key lab)"
    assert _journal(servers["bench"]) == [("set_offset", who, True)]
    assert _journal(servers["confman"]) == [("load_setup", who, True)]
    # The reads the route made before the send were for the user too.
    assert _journal(servers["nodes"]) == [
        ("nodes", who, True),
        ("node", who, True),
        ("send", who, True),
    ]
