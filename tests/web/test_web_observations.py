"""The Observations page's API on a real configuration manager and storage manager."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import login
from panel_services_helpers import csrf_header, running_confman, running_storage, services_panel

from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer
from controlroom.services.confman.server import ConfigurationManager
from controlroom.services.storage.journal import JOURNAL, JOURNAL_COLUMNS
from controlroom.services.storage.server import StorageManager


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, ControlServer]]:
    with running_confman(tmp_path) as confman, running_storage(tmp_path) as storage:
        yield {"confman": confman, "storage": storage}


@pytest.fixture
def confman(servers: dict[str, ControlServer]) -> Iterator[Any]:
    proxy: Any = make_proxy(ConfigurationManager, servers["confman"].endpoint, timeout=10.0)
    with proxy:
        yield proxy


@pytest.fixture
def storage(servers: dict[str, ControlServer]) -> Iterator[Any]:
    proxy: Any = make_proxy(StorageManager, servers["storage"].endpoint, timeout=10.0)
    with proxy:
        yield proxy


@pytest.fixture
def panel(servers: dict[str, ControlServer]) -> Iterator[TestClient]:
    with services_panel(servers) as client:
        yield client


def start(panel: TestClient, csrf: str, description: str) -> str:
    answer = panel.post(
        "/api/observations/start", json={"description": description}, headers=csrf_header(csrf)
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["obsid"])


def end(panel: TestClient, csrf: str) -> dict[str, Any]:
    answer = panel.post("/api/observations/end", headers=csrf_header(csrf))
    assert answer.status_code == 200, answer.text
    ended: dict[str, Any] = answer.json()
    return ended


def test_an_operator_starts_and_ends_observations_and_lists_them(
    panel: TestClient, confman: Any
) -> None:
    confman.submit_setup({"sut": {"name": "FM1"}}, "first")
    confman.load_setup(1)
    csrf = login(panel, "otto")
    first = start(panel, csrf, "  warm functional  ")
    assert confman.get_observation()["description"] == "warm functional"
    assert end(panel, csrf)["obsid"] == first
    second = start(panel, csrf, "cold functional")
    listed = panel.get("/api/observations").json()
    assert listed["running"] == second and listed["setup_id"] == 1 and listed["site"] == "LAB"
    rows = [(o["obsid"], o["setup_id"], o["ended"] is None) for o in listed["observations"]]
    assert rows == [(second, 1, True), (first, 1, False)]
    assert [o["obsid"] for o in panel.get("/api/observations?limit=1").json()["observations"]] == [
        second
    ]
    assert panel.get("/api/observations?limit=0").status_code == 422


def test_starting_and_ending_refusals_are_named(panel: TestClient, confman: Any) -> None:
    csrf = login(panel, "otto")
    nothing = panel.post("/api/observations/end", headers=csrf_header(csrf))
    assert nothing.status_code == 409 and "no observation is running" in nothing.json()["detail"]
    blank = panel.post(
        "/api/observations/start", json={"description": " "}, headers=csrf_header(csrf)
    )
    assert blank.status_code == 422 and "needs a description" in blank.json()["detail"]
    assert (
        panel.post("/api/observations/start", json={}, headers=csrf_header(csrf)).status_code == 422
    )
    running = start(panel, csrf, "first")
    again = panel.post(
        "/api/observations/start", json={"description": "second"}, headers=csrf_header(csrf)
    )
    assert again.status_code == 409 and f"observation {running} is running" in again.text


def test_a_viewer_cannot_start_or_end_an_observation(panel: TestClient, confman: Any) -> None:
    csrf = login(panel, "vera")
    refused = panel.post(
        "/api/observations/start", json={"description": "sneaky"}, headers=csrf_header(csrf)
    )
    assert refused.status_code == 403 and "needs operator" in refused.json()["detail"]
    confman.start_observation("the operator's")
    assert panel.post("/api/observations/end", headers=csrf_header(csrf)).status_code == 403
    assert confman.get_observation()["description"] == "the operator's"
    assert panel.get("/api/observations").status_code == 200  # but sees them


def test_the_running_obsid_reaches_open_pages_live(panel: TestClient) -> None:
    csrf = login(panel, "otto")
    with panel.websocket_connect("/ws?topics=status/confman") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        obsid = start(panel, csrf, "watched")
        while True:
            message = ws.receive_json()
            if message["type"] == "change" and message["values"]["obsid"] == obsid:
                break


def journal_row(t: float, obsid: str, command: str) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(JOURNAL_COLUMNS)
    values.update(server="dummy", command=command, arguments=json.dumps({"args": [3]}))
    values.update(outcome="ok", duration_s=0.01)
    return {"timestamp": t, "setup_id": None, "obsid": obsid, "values": values}


def hk_row(t: float, obsid: str | None, temperature: float) -> dict[str, Any]:
    values = {"DUMMY_TEMP": temperature, "DUMMY_COUNT": None}
    return {"timestamp": t, "setup_id": None, "obsid": obsid, "values": values}


def test_an_observation_shows_its_journal_and_housekeeping(
    panel: TestClient, confman: Any, storage: Any
) -> None:
    before = confman.start_observation("before")
    confman.end_observation()
    obsid = confman.start_observation("the one")
    now = time.time()
    storage.register("DUMMY", ["DUMMY_TEMP", "DUMMY_COUNT"])
    storage.register(JOURNAL, list(JOURNAL_COLUMNS))
    storage.store("DUMMY", [hk_row(now - 3600, None, 1.0)])  # long before: not counted
    storage.store("DUMMY", [hk_row(now + i * 0.001, obsid, 20.0 + i) for i in range(3)])
    storage.store(JOURNAL, [journal_row(now, before, "reset"), journal_row(now, obsid, "setup")])
    login(panel, "vera")
    while_running = panel.get(f"/api/observations/{obsid}/data").json()
    assert while_running["observation"]["ended"] is None
    assert [e["command"] for e in while_running["journal"]] == ["setup"]
    confman.end_observation()
    data = panel.get(f"/api/observations/{obsid}/data").json()
    assert data["observation"]["description"] == "the one" and data["observation"]["ended"]
    (entry,) = data["journal"]
    assert (entry["server"], entry["command"], entry["outcome"]) == ("dummy", "setup", "ok")
    assert data["housekeeping"] == [
        {
            "origin": "DUMMY",
            "name": "DUMMY_TEMP",
            "unit": "degC",  # from the shipped telemetry dictionary
            "samples": 3,
            "complete": True,
            "last": 22.0,
        }
    ]


def test_stored_data_of_unknown_or_malformed_obsids(panel: TestClient) -> None:
    login(panel, "vera")
    unknown = panel.get("/api/observations/LAB_00042/data")
    assert unknown.status_code == 404 and "no observation LAB_00042" in unknown.json()["detail"]
    malformed = panel.get("/api/observations/nonsense/data")
    assert malformed.status_code == 422 and "not an obsid" in malformed.json()["detail"]


def test_the_page_is_listed_and_served(panel: TestClient) -> None:
    login(panel, "vera")
    shell = panel.get("/observations")
    assert shell.status_code == 200 and '<script src="/static/observations.js"' in shell.text
    assert panel.get("/static/observations.js").status_code == 200
    assert "observations" in [p["name"] for p in panel.get("/api/pages").json()]
