"""The Tasks page's API: list, run with arguments, follow the output, refusals, roles, obsids."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lab_helpers import SetupHolder, lab_app, lab_of, new_setup
from panel_helpers import login, panel_settings

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.obs import building_block, current_observation, observation
from controlroom.obs.task import task
from controlroom.rpc import ControlServer, FunctionTable
from controlroom.testing.waiting import wait_until
from controlroom.web import create_app
from controlroom.web.discovery import StaticDiscovery

DEMO = "controlroom.obs.demo_tasks"
WAIT_S = 10.0
gates: dict[str, threading.Event] = {}


@task(display_name="Hold the rig", group="Rig", devices=("rig",))
def hold_rig(gate: str = "rig") -> str:
    print("holding the rig")
    assert gates[gate].wait(WAIT_S)
    return "released"


@task(display_name="Align (observation)", group="Rig", devices=("rig",))
@building_block
def align(*, offset: float) -> str | None:
    running = current_observation()
    print(f"aligning by {offset} in {running.obsid if running else None}")
    return running.obsid if running else None


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer("dummy", DeviceService(DummySensor()), endpoint="tcp://127.0.0.1:0")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def confman() -> Iterator[tuple[str, list[str]]]:
    """A stand-in configuration manager handing out obsids."""
    started: list[str] = []

    def start(description: str) -> str:
        started.append(description)
        return f"LAB_{len(started):05d}"

    server = ControlServer(
        "confman",
        FunctionTable({"start_observation": start, "end_observation": lambda: None}),
    )
    server.start()
    yield server.endpoint, started
    server.stop()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    gates["rig"] = threading.Event()
    yield gates["rig"]
    gates["rig"].set()  # never leave a run waiting
    gates.clear()


@pytest.fixture
def holder() -> SetupHolder:
    return SetupHolder({"_meta": {"id": 1}, "tasks": [DEMO, __name__]})


@pytest.fixture
def app(
    tmp_path: Path, dummy: ControlServer, confman: tuple[str, list[str]], holder: SetupHolder
) -> FastAPI:
    settings: dict[str, Any] = {
        **panel_settings(),
        "devices": {"dummy": {"commands": dummy.endpoint}},
        "security": {"allowed_packages": [__name__]},
        "locations": {"data": str(tmp_path)},
    }
    starter = functools.partial(observation, confman=confman[0])
    return lab_app(settings, holder, observations=starter)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as started:
        lab_of(app)
        yield started


def run(client: TestClient, csrf: str, name: str, **arguments: Any) -> Any:
    return client.post(
        "/api/tasks/run",
        json={"task": name, "arguments": arguments},
        headers={"X-CSRF-Token": csrf},
    )


def ended(client: TestClient, run_id: int) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def over() -> bool:
        found.update(client.get(f"/api/tasks/runs/{run_id}").json())
        return found["state"] in ("done", "failed")

    assert wait_until(over, WAIT_S), f"run {run_id} did not end"
    return found


def test_the_setups_task_modules_are_listed_by_group(client: TestClient, app: FastAPI) -> None:
    login(client, "vera")
    listed = client.get("/api/tasks").json()
    assert listed["setup_id"] == 1
    assert listed["problems"] == []
    assert set(listed["groups"]) == {"Thermal", "Checks", "Rig"}
    checks = {t["display_name"]: t for t in listed["groups"]["Checks"]}
    assert checks["Ping every server"]["immediate"] is True
    schema = checks["Read the dummy"]["schema"]["properties"]
    assert schema["statistic"]["enum"] == ["last", "mean", "min", "max"]
    assert schema["samples"] == {"type": "integer", "title": "samples", "default": 5}
    steps = {t["name"]: t for t in listed["groups"]["Thermal"]}[f"{DEMO}.step_setpoints"]
    assert steps["schema"]["properties"]["setpoints"]["type"] == "array"
    assert client.get("/tasks").status_code == 200


def test_a_new_setup_brings_its_own_tasks(
    client: TestClient, app: FastAPI, holder: SetupHolder
) -> None:
    login(client, "vera")
    new_setup(app, holder, {"_meta": {"id": 2}, "tasks": ["os.path", __name__]}, 2)
    listed = client.get("/api/tasks").json()
    assert listed["setup_id"] == 2
    assert list(listed["groups"]) == ["Rig"]
    assert "'os.path' is not in an allowed package" in listed["problems"][0]


class DownFirst(SetupHolder):
    """A configuration manager that does not answer until ``down`` is cleared."""

    down = True
    asked = 0

    def __call__(self) -> Any:
        self.asked += 1
        if self.down:
            raise TimeoutError("confman does not answer")
        return super().__call__()


def test_tasks_appear_once_the_configuration_manager_answers(tmp_path: Path) -> None:
    holder = DownFirst({"_meta": {"id": 3}, "tasks": [__name__]})
    settings = {**panel_settings(), "security": {"allowed_packages": [__name__]}}
    app = lab_app(settings, holder)
    with TestClient(app) as client:
        login(client, "vera")
        assert wait_until(lambda: holder.asked == 1, WAIT_S)
        assert client.get("/api/tasks").json()["groups"] == {}
        holder.down = False
        new_setup(app, holder, holder.setup or {}, 3)  # its next status: asked again
        assert list(client.get("/api/tasks").json()["groups"]) == ["Rig"]


def test_by_default_the_panel_asks_the_configuration_manager_of_the_settings(
    tmp_path: Path,
) -> None:
    setup = {"_meta": {"id": 4}, "tasks": [__name__]}
    obsids: list[str] = []

    def start(description: str) -> str:
        obsids.append(f"LAB_{len(obsids) + 1:05d}")
        return obsids[-1]

    table = {
        "get_current_setup": lambda: setup,
        "start_observation": start,
        "end_observation": lambda: None,
    }
    server = ControlServer("confman", FunctionTable(table))
    server.start()
    try:
        settings = {
            **panel_settings(),
            "services": {"confman": {"commands": server.endpoint}},
            "security": {"allowed_packages": [__name__]},
        }
        app = create_app(settings, discovery=StaticDiscovery({}))  # nothing injected
        with TestClient(app) as client:
            lab_of(app)
            csrf = login(client, "otto")
            assert client.get("/api/tasks").json()["setup_id"] == 4
            answer = run(client, csrf, f"{__name__}.align", offset=2)
            assert answer.status_code == 202, answer.text
            assert ended(client, answer.json()["id"])["obsid"] == "LAB_00001"
    finally:
        server.stop()


def test_a_run_streams_its_output_over_the_websocket_and_ends_with_its_result(
    client: TestClient,
) -> None:
    csrf = login(client, "otto")
    with client.websocket_connect("/ws?topics=tasks/runs,task/1") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        answer = run(client, csrf, f"{DEMO}.read_dummy", samples="3", statistic="max")
        assert answer.status_code == 202, answer.text
        started = answer.json()
        assert started["id"] == 1
        assert started["arguments"] == {"samples": 3, "statistic": "max", "with_offset": True}
        lines: list[dict[str, Any]] = []
        final: dict[str, Any] = {}
        while not (final and lines and lines[-1]["text"].startswith("----- ")):
            message = ws.receive_json()
            values = message["values"]
            if message["topic"] == "task/1":
                lines.extend(values["lines"])
            elif values["runs"] and values["runs"][0]["state"] in ("done", "failed"):
                final = values["runs"][0]
    assert final["state"] == "done", final["error"]
    assert isinstance(final["result"], float)
    assert final["user"] == "otto"
    texts = [line["text"] for line in lines]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert "reading 3" in " ".join(texts)
    assert texts[-2].startswith("max: ")
    assert "Read the dummy done after" in texts[-1]
    # The same lines, for a page that subscribes late:
    later = client.get("/api/tasks/runs/1/output", params={"after": 2}).json()
    assert later["closed"] is True
    assert [line["text"] for line in later["lines"]] == texts[2:]


def test_bad_arguments_are_refused_naming_the_argument(client: TestClient) -> None:
    csrf = login(client, "otto")
    answer = run(client, csrf, f"{DEMO}.read_dummy", samples="many")
    assert answer.status_code == 422
    assert answer.json()["argument"] == "samples"
    assert "argument 'samples'" in answer.json()["detail"]
    missing = run(client, csrf, f"{DEMO}.step_setpoints")
    assert missing.status_code == 422
    assert missing.json()["argument"] == "setpoints"
    unknown = run(client, csrf, f"{DEMO}.no_such_task")
    assert unknown.status_code == 404
    assert "no task" in unknown.json()["detail"]
    assert client.get("/api/tasks/runs").json() == []


def test_a_busy_device_refuses_a_second_run_until_the_first_ends(
    client: TestClient, gate: threading.Event
) -> None:
    csrf = login(client, "otto")
    first = run(client, csrf, f"{__name__}.hold_rig")
    assert first.status_code == 202
    assert client.get("/api/tasks").json()["busy"] == {"rig": 1}
    second = run(client, csrf, f"{__name__}.align", offset=0.5)
    assert second.status_code == 409
    assert "device 'rig' is in use by run 1 (Hold the rig" in second.json()["detail"]
    gate.set()
    assert ended(client, 1)["result"] == "released"
    third = run(client, csrf, f"{__name__}.align", offset=0.5)
    assert third.status_code == 202, third.text


def test_a_building_block_runs_inside_an_observation(
    client: TestClient, confman: tuple[str, list[str]]
) -> None:
    csrf = login(client, "otto")
    answer = run(client, csrf, f"{__name__}.align", offset="1.5")
    assert answer.status_code == 202
    finished = ended(client, answer.json()["id"])
    assert finished["state"] == "done", finished["error"]
    assert finished["obsid"] == "LAB_00001"
    assert finished["result"] == "LAB_00001"
    assert confman[1] == [f"{__name__}.align"]


def test_a_failed_run_keeps_the_error_and_its_traceback(client: TestClient) -> None:
    csrf = login(client, "otto")
    answer = run(client, csrf, f"{DEMO}.step_setpoints", setpoints="")
    assert answer.status_code == 202, answer.text
    finished = ended(client, answer.json()["id"])
    assert finished["state"] == "failed"
    assert finished["error"]["type"] == "ValueError"
    assert "give at least one temperature" in finished["error"]["message"]
    assert "Traceback" in finished["error"]["traceback"]


def test_a_viewer_sees_the_tasks_but_cannot_run_them(client: TestClient) -> None:
    csrf = login(client, "vera")
    assert client.get("/api/tasks").status_code == 200
    answer = run(client, csrf, f"{DEMO}.ping_servers")
    assert answer.status_code == 403
    assert "vera has the role viewer" in answer.json()["detail"]
    assert client.get("/api/tasks/runs").json() == []
    assert run(client, "wrong", f"{DEMO}.ping_servers").status_code == 403
