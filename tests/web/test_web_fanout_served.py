"""The fan-out end to end: through the test client, and behind uvicorn writing to sockets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from panel_helpers import Clock, MakeClient, login, panel_settings
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from controlroom.rpc import ControlServer
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery, Target
from controlroom.web.serve import panel_server
from controlroom.web.ws import UNAUTHORISED

START_S = 30.0


@pytest.fixture
def panel(make_client: MakeClient, dummy_server: ControlServer) -> TestClient:
    target = Target("dummy", "device", dummy_server.endpoint, dummy_server.pub_endpoint)
    return make_client(targets={"dummy": target})


def test_a_socket_whose_session_expires_is_closed_while_changes_flow(
    panel: TestClient, clock: Clock
) -> None:
    login(panel, "vera")
    with panel.websocket_connect("/ws?topics=hk/dummy") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        while ws.receive_json()["type"] != "change":
            pass
        clock.now += 601.0  # past web.session_ttl_s
        with pytest.raises(WebSocketDisconnect) as closed:
            read_at_most(ws, 400)
    assert closed.value.code == UNAUTHORISED


def read_at_most(ws: WebSocketTestSession, count: int) -> None:
    # Changes keep coming until the session is next checked (HK at 20 Hz): far fewer
    # than ``count``, unless it never is.
    for _ in range(count):
        ws.receive_json()


@pytest.fixture
def url(dummy_server: ControlServer, clock: Clock) -> Iterator[str]:
    """The panel served by uvicorn in a thread, as ``serve`` configures it; anonymous viewers."""
    target = Target("dummy", "device", dummy_server.endpoint, dummy_server.pub_endpoint)
    app = create_app(
        panel_settings(allow_anonymous=True),
        bind_host="127.0.0.1",
        discovery=StaticDiscovery({"dummy": target}),
        clock=clock,
    )
    announced: list[str] = []
    listening = threading.Event()

    def announce(url: str) -> None:
        announced.append(url)
        listening.set()

    server = panel_server(app, "127.0.0.1", 0, announce)
    thread = threading.Thread(target=server.run, name="panel", daemon=True)
    thread.start()
    try:
        assert listening.wait(START_S), "the panel never listened"
        yield announced[0]
    finally:
        server.should_exit = True
        thread.join(START_S)
    assert not thread.is_alive()


def follow(url: str) -> ClientConnection:
    base = url.rstrip("/")
    return connect(base.replace("http", "ws", 1) + "/ws?topics=hk/dummy", origin=base)  # type: ignore[arg-type]


def changes(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "change":
            found.append(message)
    return found


def test_pages_get_every_change_written_as_it_came(url: str) -> None:
    with follow(url) as first, follow(url) as second:
        assert "Sec-WebSocket-Extensions" not in first.response.headers  # not compressed
        for ws in (first, second):
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        seen = {id(ws): changes(ws, 10) for ws in (first, second)}
        hub = httpx.get(url + "api/hub", timeout=10).json()
    for got in seen.values():
        assert all(c["topic"] == "hk/dummy" and "DUMMY_VALUE" in c["values"] for c in got)
        assert [c["seq"] for c in got] == sorted({c["seq"] for c in got})
    sockets = [c for c in hub["clients"] if c["delivered"]]
    assert len(sockets) == 2
    assert all(c["written_at_once"] > 0 and c["dropped"] == 0 for c in sockets)


def test_one_page_leaving_does_not_stop_the_others(url: str) -> None:
    with follow(url) as staying:
        with follow(url) as leaving:
            changes(leaving, 2)
        assert len(changes(staying, 5)) == 5


def test_a_socket_written_to_directly_is_still_closed_when_its_session_expires(
    url: str, clock: Clock
) -> None:
    with follow(url) as ws:
        changes(ws, 3)
        clock.now += 601.0  # past web.session_ttl_s
        with pytest.raises(ConnectionClosed) as closed:
            changes(ws, 200)  # HK at 20 Hz: the session is checked every second
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == UNAUTHORISED
