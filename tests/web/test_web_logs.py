"""The Logs page on a real log manager: the last records with filters, then live over the hub."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import login
from panel_services_helpers import running_logman, services_panel
from starlette.testclient import WebSocketTestSession

from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer
from controlroom.rpc.loghandler import LogHandler
from controlroom.services.logs.server import LogManager
from controlroom.testing.waiting import wait_until

TIMEOUT_S = 10.0


@pytest.fixture
def logman(tmp_path: Path) -> Iterator[tuple[ControlServer, LogManager]]:
    with running_logman(tmp_path) as running:
        yield running


@pytest.fixture
def records(logman: tuple[ControlServer, LogManager]) -> Iterator[Any]:
    """A proxy to the log manager (to wait until records are written)."""
    proxy: Any = make_proxy(LogManager, logman[0].endpoint, timeout=10.0)
    with proxy:
        yield proxy


@pytest.fixture
def loggers(
    logman: tuple[ControlServer, LogManager], request: pytest.FixtureRequest
) -> Iterator[dict[str, logging.Logger]]:
    """Two loggers outside the logger tree, sending as servers tempctl and hexapod."""
    made = {}
    for server in ("tempctl", "hexapod"):
        log = logging.Logger(f"test.web.{server}.{request.node.name}", logging.DEBUG)
        log.addHandler(LogHandler(logman[1].records_endpoint, server=server, level=logging.DEBUG))
        made[server] = log
    yield made
    for log in made.values():
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()


@pytest.fixture
def panel(logman: tuple[ControlServer, LogManager]) -> Iterator[TestClient]:
    with services_panel({"logman": logman[0]}) as client:
        yield client


def test_the_last_records_with_level_and_server_filters(
    panel: TestClient, loggers: dict[str, logging.Logger], records: Any
) -> None:
    loggers["tempctl"].debug("polling")
    loggers["tempctl"].warning("heater at %d %%", 95)
    loggers["hexapod"].info("homed")
    assert wait_until(lambda: len(records.tail(10)) == 3, TIMEOUT_S)
    login(panel, "vera")
    every = panel.get("/api/logs").json()
    assert [r["message"] for r in every["records"]] == ["polling", "heater at 95 %", "homed"]
    assert every["topic"] == "log/" and "logman" in every["servers"]
    assert list(every["levels"]) == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

    def messages(**query: Any) -> list[str]:
        answer = panel.get("/api/logs", params=query)
        assert answer.status_code == 200, answer.text
        return [r["message"] for r in answer.json()["records"]]

    assert messages(level="info") == ["heater at 95 %", "homed"]
    assert messages(server="temp*") == ["polling", "heater at 95 %"]
    assert messages(server="temp*", level="WARNING") == ["heater at 95 %"]
    assert messages(n=1, server="tempctl") == ["heater at 95 %"]  # one sender: in order


def test_bad_filters_are_refused_by_name(panel: TestClient) -> None:
    login(panel, "vera")
    bad_level = panel.get("/api/logs", params={"level": "LOUD"})
    assert bad_level.status_code == 422 and "unknown level 'LOUD'" in bad_level.json()["detail"]
    assert panel.get("/api/logs", params={"n": 100_000}).status_code == 422
    assert panel.get("/api/logs", params={"n": -1}).status_code == 422


def next_record(ws: WebSocketTestSession) -> dict[str, Any]:
    while True:
        message = ws.receive_json()
        if message["type"] == "change" and message["topic"].startswith("log/"):
            return message


def test_new_records_reach_an_open_page_live(
    panel: TestClient, loggers: dict[str, logging.Logger]
) -> None:
    hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    # The log manager's status arrives once the feed follows its PUB socket.
    assert wait_until(lambda: hub.latest("status/logman") is not None, TIMEOUT_S)
    login(panel, "vera")
    with panel.websocket_connect("/ws?topics=log/") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        loggers["tempctl"].error("sensor A open")
        live = next_record(ws)
        assert live["topic"] == "log/tempctl/logman" and live["server"] == "logman"
        record = live["values"]
        assert (record["message"], record["level"], record["server"]) == (
            "sensor A open",
            "ERROR",
            "tempctl",
        )
    # A page opened later starts from the latest record of each server in its snapshot.
    with panel.websocket_connect("/ws?topics=log/tempctl/") as ws:
        snapshot = ws.receive_json()
        assert snapshot["topics"]["log/tempctl/logman"]["values"]["message"] == "sensor A open"


def test_the_page_is_served_and_needs_a_session(panel: TestClient) -> None:
    assert panel.get("/api/logs").status_code == 401
    login(panel, "vera")
    shell = panel.get("/logs")
    assert shell.status_code == 200 and '<script src="/static/logs.js"' in shell.text
    assert panel.get("/static/logs.js").status_code == 200


def test_a_panel_without_a_log_manager_says_so() -> None:
    with services_panel({}) as panel:
        login(panel, "vera")
        answer = panel.get("/api/logs")
    assert answer.status_code == 503 and "logman is not running" in answer.json()["detail"]
