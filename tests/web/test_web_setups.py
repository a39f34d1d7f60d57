"""The Setups page's API on a real configuration manager: list, view, diff, load, roles."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import login
from panel_services_helpers import (
    HEXAPOD,
    csrf_header,
    running_confman,
    services_panel,
)

from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer
from controlroom.services.confman.server import ConfigurationManager
from controlroom.web import calls


@pytest.fixture
def confman_server(tmp_path: Path) -> Iterator[ControlServer]:
    with running_confman(tmp_path) as server:
        yield server


@pytest.fixture
def confman(confman_server: ControlServer) -> Iterator[Any]:
    """A proxy with two Setups submitted and the first loaded."""
    proxy: Any = make_proxy(ConfigurationManager, confman_server.endpoint, timeout=10.0)
    with proxy:
        proxy.submit_setup(HEXAPOD, "hexapod installed")
        edited = copy.deepcopy(HEXAPOD)
        edited["gse"]["hexapod"]["ID"] = 43
        edited["sut"]["serial"] = "FM1"
        proxy.submit_setup(edited, "new hexapod", 1)
        proxy.load_setup(1)
        yield proxy


@pytest.fixture
def panel(confman_server: ControlServer, confman: Any) -> Iterator[TestClient]:
    with services_panel({"confman": confman_server}) as client:
        yield client


def test_the_list_marks_the_current_setup(panel: TestClient) -> None:
    login(panel, "vera")
    listed = panel.get("/api/setups").json()
    assert listed["site"] == "LAB" and listed["current"] == 1 and listed["obsid"] is None
    assert [(m["id"], m["description"], m["derived_from"]) for m in listed["setups"]] == [
        (1, "hexapod installed", None),
        (2, "new hexapod", 1),
    ]
    assert all(m["created"] and m["site"] == "LAB" for m in listed["setups"])


def test_a_viewer_views_a_setup_and_diffs_two(panel: TestClient) -> None:
    login(panel, "vera")
    setup = panel.get("/api/setups/2").json()
    assert setup["_meta"]["id"] == 2 and setup["gse"]["hexapod"]["ID"] == 43
    assert panel.get("/api/setups/2", params={"site": "LAB"}).json() == setup
    diff = panel.get("/api/setups/diff", params={"a": 1, "b": 2}).json()
    assert diff["changes"] == [
        {"path": "gse.hexapod.ID", "change": "changed", "a": 42, "b": 43},
        {"path": "sut.serial", "change": "added", "a": None, "b": "FM1"},
    ]
    assert "+    ID: 43" in diff["text"] and "-    ID: 42" in diff["text"]


def test_unknown_setups_and_bad_ids_are_named(panel: TestClient) -> None:
    login(panel, "vera")
    unknown = panel.get("/api/setups/9")
    assert unknown.status_code == 404 and "no Setup 9" in unknown.json()["detail"]
    assert panel.get("/api/setups/diff", params={"a": 1, "b": 9}).status_code == 404
    assert panel.get("/api/setups/nine").status_code == 422
    assert panel.get("/api/setups/diff", params={"a": 1}).status_code == 422


def test_an_operator_loads_a_setup_and_every_page_sees_it_live(
    panel: TestClient, confman: Any
) -> None:
    csrf = login(panel, "otto")
    with panel.websocket_connect("/ws?topics=status/confman,event/confman") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        loaded = panel.post("/api/setups/2/load", headers=csrf_header(csrf))
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["meta"]["description"] == "new hexapod"
        seen: set[str] = set()
        while seen != {"status", "event"}:  # the new id in confman's status, and its event
            message = ws.receive_json()
            values = message.get("values") or {}
            if message["type"] == "change" and values.get("setup_id") == 2:
                seen.add(message["topic"].partition("/")[0])
    assert confman.get_context()["setup_id"] == 2
    assert panel.get("/api/setups").json()["current"] == 2


def test_a_viewer_cannot_load_a_setup(panel: TestClient, confman: Any) -> None:
    csrf = login(panel, "vera")
    refused = panel.post("/api/setups/2/load", headers=csrf_header(csrf))
    assert refused.status_code == 403
    assert "vera has the role viewer" in refused.json()["detail"]
    assert confman.get_context()["setup_id"] == 1


def test_loading_needs_the_csrf_token_and_a_session(panel: TestClient, confman: Any) -> None:
    assert panel.post("/api/setups/2/load").status_code == 401
    login(panel, "otto")
    refused = panel.post("/api/setups/2/load")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert confman.get_context()["setup_id"] == 1


def test_loading_is_refused_while_an_observation_runs(panel: TestClient, confman: Any) -> None:
    obsid = confman.start_observation("in the way")
    csrf = login(panel, "ada")
    refused = panel.post("/api/setups/2/load", headers=csrf_header(csrf))
    assert refused.status_code == 409
    assert f"observation {obsid} is running" in refused.json()["detail"]
    unknown = panel.post("/api/setups/9/load", headers=csrf_header(csrf))
    assert unknown.status_code in (404, 409)


def test_the_page_is_served_to_a_session_only(panel: TestClient) -> None:
    away = panel.get("/setups", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    assert panel.get("/api/setups").status_code == 401
    login(panel, "vera")
    shell = panel.get("/setups")
    assert shell.status_code == 200 and '<script src="/static/setups.js"' in shell.text
    for asset in ("setups.js", "records.css"):
        assert panel.get(f"/static/{asset}").status_code == 200
    assert {"name": "setups", "title": "Setups", "path": "/setups"} in panel.get(
        "/api/pages"
    ).json()


def test_a_panel_without_confman_says_so(tmp_path: Path) -> None:
    with services_panel({}) as panel:
        login(panel, "vera")
        answer = panel.get("/api/setups")
    assert answer.status_code == 503 and "confman is not running" in answer.json()["detail"]


def test_a_stopped_confman_is_reported_not_waited_for(
    confman_server: ControlServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "CALL_TIMEOUT_S", 0.5)
    with services_panel({"confman": confman_server}) as panel:
        login(panel, "vera")
        confman_server.stop()
        answer = panel.get("/api/setups")
    assert answer.status_code == 503 and "confman did not answer" in answer.json()["detail"]
