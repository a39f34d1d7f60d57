"""The watched status file: each change reaches every page's WebSocket; operators acknowledge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lab_helpers import SetupHolder, lab_app, lab_of, new_setup
from panel_helpers import login, panel_settings
from starlette.testclient import WebSocketTestSession

from controlroom.bridges import AcceptFile

SETUP = {"web": {"status_file": "lab/status.txt", "accept_file": "lab/accept.txt"}}
TOPIC = "statusfile/main"


@pytest.fixture
def holder() -> SetupHolder:
    return SetupHolder(SETUP)


@pytest.fixture
def app(tmp_path: Path, holder: SetupHolder) -> FastAPI:
    settings = {**panel_settings(), "locations": {"data": str(tmp_path)}}
    return lab_app(settings, holder)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as started:
        lab_of(app)
        yield started


def write(path: Path, text: str) -> None:
    """Replace the file the way a careful writer does: a temporary file renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def next_status(ws: WebSocketTestSession) -> dict[str, Any]:
    while True:
        message = ws.receive_json()
        if message.get("topic") == TOPIC:
            values: dict[str, Any] = message["values"]
            return values


def snapshot_status(ws: WebSocketTestSession) -> dict[str, Any]:
    snapshot = ws.receive_json()
    assert snapshot["type"] == "snapshot"
    values: dict[str, Any] = snapshot["topics"][TOPIC]["values"]
    return values


def test_each_change_of_the_file_reaches_an_open_websocket(
    client: TestClient, tmp_path: Path
) -> None:
    login(client, "vera")
    status_file = tmp_path / "lab" / "status.txt"
    with client.websocket_connect("/ws?topics=hk/,statusfile/") as ws:
        first = snapshot_status(ws)
        assert first["configured"] is True
        assert first["status_file"] == str(status_file)  # relative: under locations.data
        assert first["status"]["state"] == "missing"
        sequences = []
        for value in ("coffee", "tea", "coffee again"):
            write(status_file, f"{value}\nset_by: teensy\n")
            shown = next_status(ws)
            assert shown["status"]["value"] == value
            assert shown["status"]["fields"] == {"set_by": "teensy"}
            assert shown["acknowledged"] is False
            sequences.append(shown["status"]["sequence"])
    # One reading per change, in the order written: none merged, none lost. How soon
    # a change shows is a figure of bench/statusdesk.py (target: within 100 ms).
    assert sequences == list(range(sequences[0], sequences[0] + 3)), sequences


def test_an_operator_acknowledges_the_status_shown(client: TestClient, tmp_path: Path) -> None:
    status_file = tmp_path / "lab" / "status.txt"
    write(status_file, "valve open\n")
    csrf = login(client, "otto")
    with client.websocket_connect("/ws?topics=statusfile/") as ws:
        shown = snapshot_status(ws)
        while shown["status"]["value"] != "valve open":
            shown = next_status(ws)
        sequence = shown["status"]["sequence"]
        answer = client.post(
            "/api/statusfile/acknowledge",
            json={"sequence": sequence},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["acknowledged"] is True
        acknowledged = next_status(ws)
        assert acknowledged["acknowledged"] is True
        assert acknowledged["acknowledgement"]["who"] == "otto"
    ack = AcceptFile(tmp_path / "lab" / "accept.txt").read()
    assert ack is not None
    assert (ack.value, ack.who, ack.sequence) == ("valve open", "otto", sequence)
    stale = client.post(
        "/api/statusfile/acknowledge",
        json={"sequence": sequence + 5},
        headers={"X-CSRF-Token": csrf},
    )
    assert stale.status_code == 409
    assert "the status changed since you saw it" in stale.json()["detail"]


def test_a_viewer_cannot_acknowledge(client: TestClient, tmp_path: Path) -> None:
    write(tmp_path / "lab" / "status.txt", "valve open\n")
    csrf = login(client, "vera")
    answer = client.post("/api/statusfile/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 403
    assert not (tmp_path / "lab" / "accept.txt").exists()
    assert client.get("/api/statusfile").json()["acknowledged"] is False
    assert client.get("/statusfile").status_code == 200  # the page with the whole file


def test_nothing_to_acknowledge_is_a_clear_refusal(client: TestClient) -> None:
    csrf = login(client, "otto")
    answer = client.post("/api/statusfile/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 409
    assert "nothing to acknowledge" in answer.json()["detail"]


def test_a_new_setup_moves_the_watch_to_its_file(
    client: TestClient, app: FastAPI, holder: SetupHolder, tmp_path: Path
) -> None:
    login(client, "vera")
    other = tmp_path / "elsewhere" / "state.txt"
    new_setup(app, holder, {"web": {"status_file": str(other)}}, 7)
    shown = client.get("/api/statusfile").json()
    assert shown["status_file"] == str(other)
    assert shown["accept_file"] is None
    with client.websocket_connect("/ws?topics=statusfile/") as ws:
        snapshot_status(ws)
        write(other, "moved\n")
        assert next_status(ws)["status"]["value"] == "moved"
    new_setup(app, holder, {"devices": {}}, 8)
    assert client.get("/api/statusfile").json()["configured"] is False


def test_a_bad_web_section_is_reported_not_fatal(
    client: TestClient, app: FastAPI, holder: SetupHolder
) -> None:
    login(client, "vera")
    new_setup(app, holder, {"web": {"status_file": 42}}, 9)
    shown = client.get("/api/statusfile").json()
    assert shown["configured"] is False
    assert "web.status_file must be a path, not 42" in shown["problem"]


SECRET = "root:$6$not-for-the-panel"


@pytest.fixture
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mode-600 file outside the data directory, next to where a Setup would write."""
    path = tmp_path_factory.mktemp("private") / "shadow"
    path.write_text(f"{SECRET}\n")
    path.chmod(0o600)
    return path


def acknowledge(client: TestClient, csrf: str) -> Any:
    return client.post("/api/statusfile/acknowledge", json={}, headers={"X-CSRF-Token": csrf})


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink"])
def test_a_setup_naming_files_outside_the_data_directory_is_neither_read_nor_written(
    client: TestClient, app: FastAPI, holder: SetupHolder, tmp_path: Path, secret: Path, how: str
) -> None:
    (tmp_path / "lab" / "link").symlink_to(secret)
    status_file = {
        "absolute": str(secret),
        "dot-dot": f"{os.path.relpath(secret, tmp_path)}",
        "symlink": "lab/link",
    }[how]
    accept_file = secret.with_name("accept.txt")
    setup = {"web": {"status_file": status_file, "accept_file": str(accept_file)}}
    new_setup(app, holder, setup, 7)
    csrf = login(client, "otto")
    answer = client.get("/api/statusfile")
    assert SECRET not in answer.text
    shown = answer.json()
    assert shown["configured"] is False and shown["status"] is None
    assert shown["problem"].startswith("the Setup's web.status_file: ")
    assert "is outside the data directory" in shown["problem"]
    refused = acknowledge(client, csrf)
    assert refused.status_code == 409
    assert not accept_file.exists()
    assert secret.read_text() == f"{SECRET}\n"


def test_a_status_file_swapped_for_a_symlink_leading_out_is_not_read(
    client: TestClient, tmp_path: Path, secret: Path
) -> None:
    login(client, "vera")
    status_file = tmp_path / "lab" / "status.txt"
    with client.websocket_connect("/ws?topics=statusfile/") as ws:
        snapshot_status(ws)
        write(status_file, "valve open\n")
        assert next_status(ws)["status"]["value"] == "valve open"
        swapped = status_file.with_name(".swap")
        swapped.symlink_to(secret)
        os.replace(swapped, status_file)  # after the Setup was accepted
        shown = next_status(ws)
    assert shown["status"]["state"] == "error"
    assert "status file: " in shown["status"]["error"]
    assert "is outside the data directory" in shown["status"]["error"]
    answer = client.get("/api/statusfile")
    assert SECRET not in answer.text


def test_an_accept_folder_swapped_for_a_symlink_leading_out_is_not_written(
    client: TestClient, app: FastAPI, holder: SetupHolder, tmp_path: Path, secret: Path
) -> None:
    setup = {"web": {"status_file": "lab/status.txt", "accept_file": "acks/accept.txt"}}
    new_setup(app, holder, setup, 7)
    write(tmp_path / "lab" / "status.txt", "valve open\n")
    csrf = login(client, "otto")
    with client.websocket_connect("/ws?topics=statusfile/") as ws:
        shown = snapshot_status(ws)
        while shown["status"]["value"] != "valve open":
            shown = next_status(ws)
    # After the Setup was accepted, its accept folder becomes a link to a folder outside.
    (tmp_path / "acks").rmdir()
    (tmp_path / "acks").symlink_to(secret.parent)
    answer = acknowledge(client, csrf)
    assert answer.status_code == 409
    assert "cannot write the accept file: accept file: " in answer.json()["detail"]
    assert "outside the data directory" in answer.json()["detail"]
    assert sorted(p.name for p in secret.parent.iterdir()) == ["shadow"]
