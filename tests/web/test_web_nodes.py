"""The Nodes page's API in process, against a real node bridge with fake nodes over real TCP.

The bridge is a real control server on loopback ports the OS picks; each fake
node is a plain socket that says HELLO and reads what the bridge sends it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, login

from controlroom.bridges.nodes import NodeBridge, build_bridge_server
from controlroom.rpc import ControlServer
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import BRIDGE, DEVICE, SettingsDiscovery, Target
from controlroom.web.hub import Hub, Message

SETTINGS = {"bridges": {"nodes": {"port": 0, "stream_period_s": 0.05, "max_line_bytes": 64}}}


class FakeNode:
    """A sensor node made of a plain socket."""

    def __init__(self, port: int, hello: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.reader = self.sock.makefile("rb")
        self.say(hello)
        assert self.hear().startswith("OK HELLO")

    def say(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\n" for line in lines).encode())

    def hear(self) -> str:
        return self.reader.readline().decode().rstrip("\n")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def bridge() -> Iterator[tuple[ControlServer, NodeBridge]]:
    server, served = build_bridge_server(SETTINGS)
    with server:
        yield server, served


@pytest.fixture
def fleet(bridge: tuple[ControlServer, NodeBridge]) -> Iterator[dict[str, FakeNode]]:
    _, served = bridge
    port = served.server.port
    nodes = {
        "fedm-01": FakeNode(port, "HELLO fedm-01 fedm"),
        "ctu-01": FakeNode(port, "HELLO ctu-01 ctu"),
    }
    nodes["fedm-01"].say("HB 12.5", "STATUS hv=1250", "DATA PULSE 1000 1 12", "GARBAGE")
    assert wait_until(lambda: served.network.counters()["fedm-01"]["malformed"] == 1)
    try:
        yield nodes
    finally:
        for node in nodes.values():
            node.close()


@pytest.fixture
def panel(make_client: MakeClient, bridge: tuple[ControlServer, NodeBridge]) -> TestClient:
    server, _ = bridge
    targets = {"nodes": Target("nodes", BRIDGE, server.endpoint, server.pub_endpoint)}
    client = make_client(targets=targets)
    hub = client.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: hub.servers().get("nodes", {}).get("up"), timeout_s=10)
    # The feed has subscribed once the bridge's status arrives: later lines are not missed.
    assert wait_until(lambda: hub.latest("status/nodes"), timeout_s=10)
    return client


def _send(client: TestClient, node: str, text: str, csrf: str | None) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    return client.post(f"/api/nodes/{node}/send", json={"text": text}, headers=headers)


def test_the_page_needs_a_session_and_is_in_the_nav(panel: TestClient) -> None:
    shell = panel.get("/nodes?node=fedm-01", follow_redirects=False)
    assert shell.status_code == 303
    assert shell.headers["location"] == "/login?next=%2Fnodes%3Fnode%3Dfedm-01"
    assert panel.get("/api/nodes").status_code == 401
    login(panel, "vera")
    assert panel.get("/nodes").text.count("/static/nodes.js") == 1
    assert {"name": "nodes", "title": "Nodes", "path": "/nodes"} in panel.get("/api/pages").json()


def test_the_list_has_every_node_with_its_counts(
    panel: TestClient, fleet: dict[str, FakeNode]
) -> None:
    login(panel, "vera")
    answer = panel.get("/api/nodes").json()
    assert answer["bridge"]["name"] == "nodes" and answer["can_send"] is False
    listed = {n["node"]: n for n in answer["nodes"]}
    assert sorted(listed) == ["ctu-01", "fedm-01"]
    fedm = listed["fedm-01"]
    assert fedm["type"] == "fedm" and fedm["connected"] is True
    assert fedm["lines_by_kind"] == {"HELLO": 1, "HB": 1, "STATUS": 1, "LOG": 0, "DATA": 1}
    assert fedm["malformed"] == 1 and fedm["last_malformed"]
    assert isinstance(fedm["last_heartbeat"], float) and fedm["heartbeat_age_s"] >= 0
    assert listed["ctu-01"]["last_heartbeat"] is None
    login(panel, "otto")
    assert panel.get("/api/nodes").json()["can_send"] is True


def test_one_node_in_full_and_the_topic_of_its_lines(
    panel: TestClient, fleet: dict[str, FakeNode]
) -> None:
    login(panel, "vera")
    answer = panel.get("/api/nodes/FEDM-01").json()
    assert answer["topic"] == "node/fedm-01/"
    assert answer["node"]["last_status"] == {"hv": 1250}
    missing = panel.get("/api/nodes/nobody")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no node 'nobody' behind the bridge (known: ctu-01, fedm-01)"
    bad = panel.get("/api/nodes/..x")
    assert bad.status_code == 422 and "not a node id" in bad.json()["detail"]


def test_the_hub_follows_each_nodes_live_lines(
    panel: TestClient, fleet: dict[str, FakeNode]
) -> None:
    hub: Hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    fleet["ctu-01"].say("LOG INFO tick")

    def streamed() -> Message | None:
        message = hub.latest("node/ctu-01/nodes")
        lines = message.values["lines"] if message is not None else []
        return message if any(text == "LOG INFO tick" for _, _, text in lines) else None

    assert wait_until(streamed)


def test_an_operator_sends_a_line_that_reaches_the_node(
    panel: TestClient, bridge: tuple[ControlServer, NodeBridge], fleet: dict[str, FakeNode]
) -> None:
    hub: Hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    csrf = login(panel, "otto")
    sent = _send(panel, "FEDM-01", "RATE 20", csrf)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"node": "fedm-01", "text": "RATE 20", "bytes": 8}
    assert fleet["fedm-01"].hear() == "RATE 20"
    assert bridge[1].network.counters()["fedm-01"]["sent"] == 1

    def echoed() -> bool:
        message = hub.latest("node/fedm-01/nodes")
        return message is not None and [">", "RATE 20"] in [m[1:] for m in message.values["lines"]]

    assert wait_until(echoed)  # the terminal shows it as sent


def test_a_viewer_and_a_request_without_csrf_are_refused(
    panel: TestClient, fleet: dict[str, FakeNode]
) -> None:
    csrf = login(panel, "vera")
    refused = _send(panel, "fedm-01", "RESET", csrf)
    assert refused.status_code == 403
    csrf = login(panel, "otto")
    for token in (None, "forged"):
        missing = _send(panel, "fedm-01", "RESET", token)
        assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["detail"]
    assert _send(panel, "fedm-01", "PING", csrf).status_code == 200
    assert fleet["fedm-01"].hear() == "PING"  # the refused lines never went out


@pytest.mark.parametrize(
    ("node", "text", "status", "detail"),
    [
        ("nobody", "PING", 404, "no node 'nobody' behind the bridge (known: ctu-01, fedm-01)"),
        ("fedm-01", "PING\nRESET", 409, "node bridge: the text to send has control characters"),
        ("fedm-01", "x" * 65, 409, "node bridge: the text to send is over 64 bytes"),
        ("fedm-01", "", 422, "String should have at least 1 character"),
        ("bad id!", "PING", 422, "not a node id: 'bad id!'"),
    ],
)
def test_a_bad_send_gets_a_clear_error(
    panel: TestClient, fleet: dict[str, FakeNode], node: str, text: str, status: int, detail: str
) -> None:
    csrf = login(panel, "otto")
    refused = _send(panel, node, text, csrf)
    assert refused.status_code == status
    assert detail in str(refused.json()["detail"])
    assert panel.get("/api/nodes").status_code == 200  # the panel and the bridge serve on


def test_a_node_that_left_cannot_be_sent_to(
    panel: TestClient, bridge: tuple[ControlServer, NodeBridge], fleet: dict[str, FakeNode]
) -> None:
    fleet["ctu-01"].close()
    assert wait_until(lambda: not bridge[1].network.counters()["ctu-01"]["connected"])
    csrf = login(panel, "otto")
    refused = _send(panel, "ctu-01", "PING", csrf)
    assert refused.status_code == 409
    assert "node 'ctu-01' is not connected (connected: fedm-01)" in refused.json()["detail"]
    listed = {n["node"]: n for n in panel.get("/api/nodes").json()["nodes"]}
    assert listed["ctu-01"]["connected"] is False


def test_without_a_bridge_the_page_says_so(client: TestClient) -> None:
    csrf = login(client, "otto")
    for response in (client.get("/api/nodes"), _send(client, "n1", "PING", csrf)):
        assert response.status_code == 503
        assert "the node bridge ('nodes') is not running" in response.json()["detail"]


class _Answers:
    """Stands for the registry's or confman's proxy: one canned answer per request."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def request(self, command: str, *args: Any, **kwargs: Any) -> Any:
        return self.answer

    def close(self) -> None:
        """Nothing to close."""


def test_discovery_finds_the_setups_bridges_and_registered_ones_as_bridges() -> None:
    hub = Hub()
    hub.publish([Message("status/confman", "confman", 1.0, {"setup_id": 7})])
    settings = {
        "services": {},
        "devices": {"dummy": {"commands": "tcp://127.0.0.1:6500"}},
        "bridges": {
            "nodes": {"commands": "tcp://*:6800", "publish": "tcp://127.0.0.1:6801"},
            "pipe": {"port": 7000},  # not a control server: nothing to follow
        },
    }
    discovery = SettingsDiscovery(settings, hub)
    setup = {"devices": {"dummy": {}}, "bridges": {"nodes": {}, "pipe": {}}}
    discovery._confman = _Answers(setup)  # type: ignore[assignment]
    found = discovery.targets()
    assert found["nodes"] == Target("nodes", BRIDGE, "tcp://127.0.0.1:6800", "tcp://127.0.0.1:6801")
    assert found["dummy"].kind == DEVICE and "pipe" not in found

    registered = [
        {"name": "nodes", "endpoints": {"commands": "tcp://127.0.0.1:4001"}, "metadata": {}},
        {"name": "other", "endpoints": {}, "metadata": {"kind": "bridge"}},
        {"name": "tempctl", "endpoints": {}, "metadata": {"kind": "device"}},
    ]
    discovery._registry = _Answers(registered)  # type: ignore[assignment]
    found = discovery.targets()
    assert found["nodes"].kind == BRIDGE and found["nodes"].commands == "tcp://127.0.0.1:4001"
    assert found["other"].kind == BRIDGE and found["tempctl"].kind == DEVICE
