"""The live hub end to end in process: a real control server on loopback, a WebSocket."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, login
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from controlroom.rpc import ControlServer
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import Target
from controlroom.web.ws import UNAUTHORISED


@pytest.fixture
def panel(make_client: MakeClient, dummy_server: ControlServer) -> TestClient:
    target = Target("dummy", "device", dummy_server.endpoint, dummy_server.pub_endpoint)
    gone = Target("ghost", "device", "", "")  # not registered, no fixed endpoint: down
    return make_client(targets={"dummy": target, "ghost": gone})


def next_of(ws: WebSocketTestSession, kind: str, topic: str = "") -> dict[str, Any]:
    """The next message of ``kind`` (on ``topic``), skipping others."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind and message.get("topic", topic) == topic:
            return message


def test_a_websocket_gets_the_snapshot_first_then_changes_from_the_server(
    panel: TestClient,
) -> None:
    login(panel, "vera")
    with panel.websocket_connect("/ws?topics=hk/dummy,server/") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot"
        assert set(first["topics"]) <= {"hk/dummy", "server/dummy", "server/ghost"}
        change = next_of(ws, "change", "hk/dummy")
        assert change["server"] == "dummy" and isinstance(change["values"]["DUMMY_VALUE"], float)
        assert change["seq"] > first["seq"]
        later = next_of(ws, "change", "hk/dummy")
        assert later["seq"] > change["seq"] and later["time"] >= change["time"]


def test_status_lights_come_from_pings(panel: TestClient) -> None:
    hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: {"dummy", "ghost"} <= set(hub.servers()), timeout_s=10)
    assert hub.servers()["dummy"]["up"] is True
    assert hub.servers()["ghost"]["up"] is False
    assert "not registered" in hub.servers()["ghost"]["error"]


def test_a_new_subscription_starts_with_its_own_snapshot(panel: TestClient) -> None:
    login(panel, "vera")
    with panel.websocket_connect("/ws?topics=server/") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "subscribe", "topics": ["hk/dummy"]})
        snapshot = next_of(ws, "snapshot")
        assert all(topic == "hk/dummy" for topic in snapshot["topics"])
        assert next_of(ws, "change", "hk/dummy")["server"] == "dummy"


def test_websocket_commands_need_the_csrf_token(panel: TestClient) -> None:
    csrf = login(panel, "vera")
    with panel.websocket_connect("/ws?topics=none/") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "command", "id": 1, "action": "ping"})
        refused = next_of(ws, "error")
        assert refused["id"] == 1 and "csrf" in refused["error"]
        ws.send_json({"type": "command", "id": 2, "action": "ping", "csrf": csrf})
        assert next_of(ws, "reply") == {"type": "reply", "id": 2, "result": "pong"}
        ws.send_json({"type": "command", "id": 3, "action": "nope", "csrf": csrf})
        assert "unknown action 'nope'" in next_of(ws, "error")["error"]
        ws.send_text("not json")
        assert "bad message" in next_of(ws, "error")["error"]


def test_a_websocket_without_a_session_is_closed(panel: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, panel.websocket_connect("/ws") as ws:
        ws.receive_json()
    assert closed.value.code == UNAUTHORISED


def test_a_websocket_from_another_site_is_closed(panel: TestClient) -> None:
    login(panel, "vera")
    headers = {"origin": "http://evil.example"}
    with (
        pytest.raises(WebSocketDisconnect),
        panel.websocket_connect("/ws", headers=headers) as ws,
    ):
        ws.receive_json()


def test_the_hub_counts_what_each_client_was_sent(panel: TestClient) -> None:
    login(panel, "vera")
    with panel.websocket_connect("/ws?topics=hk/dummy") as ws:
        ws.receive_json()
        next_of(ws, "change", "hk/dummy")
        clients = panel.get("/api/hub").json()["clients"]
        assert clients[0]["user"] == "vera" and clients[0]["delivered"] >= 1
        assert clients[0]["dropped"] == 0
