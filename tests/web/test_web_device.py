"""The device page's API in process, against a real dummy control server and storage manager.

The dummy translates its HK through the shipped telemetry dictionary and sends
its HK and command journal to a storage manager on SQLite; both listen on
loopback ports the OS picks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import MakeClient, login

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.services.storage.attach import attach_storage
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker
from controlroom.telemetry import attach_telemetry, shipped_dictionary
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import Target
from controlroom.web.pages.devicelink import decimate

ANY_PORT = "tcp://127.0.0.1:0"
SET_OFFSET = "/api/device/dummy/command"


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[ControlServer]:
    worker = BackendWorker("sqlite", {"path": str(tmp_path / "hk.sqlite")})
    server = ControlServer("storage", DeviceService(StorageManager([worker], shipped_dictionary())))
    with server:
        yield server


@pytest.fixture
def dummy(storage: ControlServer) -> Iterator[ControlServer]:
    server = ControlServer(
        "dummy",
        DeviceService(DummySensor()),
        endpoint=ANY_PORT,
        pub_endpoint=ANY_PORT,
        hk_period_s=0.05,
        status_period_s=0.05,
    )
    attach_telemetry(server, shipped_dictionary(), site="LAB")
    link = attach_storage(server, {}, endpoint=storage.endpoint)
    server.start()
    yield server
    link.stop()
    server.stop()


def _targets(dummy: ControlServer, storage: ControlServer | None) -> dict[str, Target]:
    targets = {"dummy": Target("dummy", "device", dummy.endpoint, dummy.pub_endpoint)}
    if storage is not None:
        targets["storage"] = Target("storage", "service", storage.endpoint, storage.pub_endpoint)
    return targets


def _ready(client: TestClient) -> TestClient:
    hub = client.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: hub.servers().get("dummy", {}).get("up"), timeout_s=10)
    return client


@pytest.fixture
def panel(make_client: MakeClient, dummy: ControlServer, storage: ControlServer) -> TestClient:
    return _ready(make_client(targets=_targets(dummy, storage)))


def _send(client: TestClient, csrf: str, command: str, **args: Any) -> Any:
    response = client.post(
        SET_OFFSET, json={"command": command, "args": args}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _offset(dummy: ControlServer) -> float:
    with Proxy(dummy.endpoint, timeout=5.0) as proxy:
        return float(proxy.call("get_offset"))


def test_the_page_needs_a_session_and_lists_the_devices(panel: TestClient) -> None:
    shell = panel.get("/device/dummy", follow_redirects=False)
    assert shell.status_code == 303
    assert shell.headers["location"] == "/login?next=%2Fdevice%2Fdummy"
    assert panel.get("/api/device").status_code == 401
    login(panel, "vera")
    assert panel.get("/device/dummy").text.count("/static/device.js") == 1
    assert [d["name"] for d in panel.get("/api/device").json()] == ["dummy"]  # not storage
    assert {"name": "device", "title": "Devices", "path": "/device"} in panel.get(
        "/api/pages"
    ).json()


def test_the_device_meta_lists_its_commands_and_parameters(panel: TestClient) -> None:
    login(panel, "vera")
    meta = panel.get("/api/device/dummy").json()
    names = [c["name"] for c in meta["commands"]]
    assert "set_offset" in names and "fail" in names
    assert not {"quit", "ping", "info", "set_rates"} & set(names)
    offset = next(c for c in meta["commands"] if c["name"] == "set_offset")
    assert offset["params"]["properties"]["offset"] == {
        "type": "number",
        "minimum": -100.0,
        "maximum": 100.0,
    }
    assert meta["origin"] == "DUMMY" and meta["up"] is True
    assert {"DUMMY_TEMP", "DUMMY_OFFSET"} <= set(meta["parameters"])
    assert meta["can_command"] is False and meta["commands_error"] == ""
    login(panel, "otto")
    assert panel.get("/api/device/dummy").json()["can_command"] is True
    missing = panel.get("/api/device/nope")
    assert missing.status_code == 404 and "devices: dummy" in missing.json()["detail"]


def test_an_operator_commands_the_device(panel: TestClient, dummy: ControlServer) -> None:
    csrf = login(panel, "otto")
    done = _send(panel, csrf, "set_offset", offset=2.5)
    assert done["ok"] is True and done["result"] is None and done["duration_s"] >= 0
    assert _send(panel, csrf, "get_offset")["result"] == 2.5
    assert _offset(dummy) == 2.5
    assert _send(panel, csrf, "echo", value={"a": [1, 2]})["result"] == {"a": [1, 2]}


def test_a_viewer_cannot_command(panel: TestClient, dummy: ControlServer) -> None:
    csrf = login(panel, "vera")
    refused = panel.post(
        SET_OFFSET,
        json={"command": "set_offset", "args": {"offset": 5}},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403
    assert "vera has the role viewer; this needs operator" in refused.json()["detail"]
    assert _offset(dummy) == 0.0


def test_a_command_without_the_csrf_token_is_refused(
    panel: TestClient, dummy: ControlServer
) -> None:
    login(panel, "otto")
    body = {"command": "set_offset", "args": {"offset": 5}}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = panel.post(SET_OFFSET, json=body, headers=headers)
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert _offset(dummy) == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"offset": 500}, "argument 'offset': 500.0 is outside the range [-100.0, 100.0]"),
        ({"offset": "x"}, "argument 'offset': expected a number, got 'x'"),
        ({"offset": 1, "gain": 2}, "unexpected keyword argument 'gain'"),
        ({}, "offset"),
    ],
)
def test_bad_arguments_come_back_as_the_servers_clear_error(
    panel: TestClient, dummy: ControlServer, args: dict[str, Any], message: str
) -> None:
    answer = _send(panel, login(panel, "otto"), "set_offset", **args)
    assert answer["ok"] is False
    assert answer["error"]["type"] == "ArgumentError"
    assert message in answer["error"]["message"]
    assert _offset(dummy) == 0.0


def test_a_remote_failure_and_a_timeout_are_shown_as_errors(panel: TestClient) -> None:
    csrf = login(panel, "otto")
    failed = _send(panel, csrf, "fail", message="on purpose")
    assert failed["error"]["type"] == "DummyFault" and failed["error"]["message"] == "on purpose"
    assert "Traceback" in failed["error"]["traceback"]
    slow = panel.post(
        SET_OFFSET,
        json={"command": "busy", "args": {"seconds": 0.5}, "timeout_s": 0.05},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert slow["ok"] is False and slow["error"]["type"] == "CallTimeout"
    huge = _send(panel, csrf, "echo", value=2**70)  # valid JSON the wire cannot carry
    assert huge["ok"] is False and huge["error"]["type"] == "EncodeError"


def test_the_panel_sends_only_the_devices_own_commands(panel: TestClient) -> None:
    csrf = login(panel, "ada")
    headers = {"X-CSRF-Token": csrf}
    for service in ("quit", "set_rates"):
        refused = panel.post(SET_OFFSET, json={"command": service}, headers=headers)
        assert refused.status_code == 400 and "service command" in refused.json()["detail"]
    unknown = panel.post(SET_OFFSET, json={"command": "explode"}, headers=headers)
    assert unknown.status_code == 404
    assert "no command 'explode'; it has read_value, set_offset" in unknown.json()["detail"]
    garbled = panel.post(SET_OFFSET, json={"command": "echo", "args": [1]}, headers=headers)
    assert garbled.status_code == 422
    assert panel.get("/api/device/dummy").status_code == 200  # the server still answers


def test_a_device_that_went_down_keeps_its_forms_and_says_why(
    panel: TestClient, dummy: ControlServer
) -> None:
    csrf = login(panel, "otto")
    assert panel.get("/api/device/dummy").json()["commands"]  # asked once: cached
    dummy.stop()
    hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: not hub.servers()["dummy"]["up"], timeout_s=10)
    meta = panel.get("/api/device/dummy").json()
    assert meta["up"] is False and "set_offset" in [c["name"] for c in meta["commands"]]
    assert meta["commands_error"].startswith("dummy is down")
    lost = panel.post(
        SET_OFFSET,
        json={"command": "set_offset", "args": {"offset": 1}, "timeout_s": 0.2},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert lost["ok"] is False and lost["error"]["type"] in {"ServerUnavailable", "CallTimeout"}


def test_the_history_comes_from_storage_thinned_out(panel: TestClient) -> None:
    login(panel, "vera")

    def stored(points: int = 600) -> dict[str, Any]:
        query = {"params": "DUMMY_TEMP,DUMMY_OFFSET,DUMMY_NOPE", "window_s": 60, "points": points}
        response = panel.get("/api/device/dummy/history", params=query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def samples() -> int:  # a parameter not stored yet is listed under "errors"
        return len(stored()["series"].get("DUMMY_TEMP", {}).get("times", []))

    assert wait_until(lambda: samples() >= 30, timeout_s=15)
    found = stored()
    temp = found["series"]["DUMMY_TEMP"]
    assert temp["unit"] == "degC" and all(15 < v < 25 for v in temp["values"])
    assert temp["times"] == sorted(temp["times"]) and found["since"] < temp["times"][0]
    assert found["series"]["DUMMY_OFFSET"]["values"][-1] == 0.0
    assert "DUMMY_NOPE" in found["errors"] and found["origin"] == "DUMMY"
    assert len(stored(points=10)["series"]["DUMMY_TEMP"]["times"]) <= 10
    bad = panel.get("/api/device/dummy/history", params={"params": "A;DROP"})
    assert bad.status_code == 422 and "not a parameter name" in bad.json()["detail"]


def test_the_journal_shows_the_commands_newest_first(panel: TestClient) -> None:
    csrf = login(panel, "otto")
    _send(panel, csrf, "set_offset", offset=1.5)
    _send(panel, csrf, "fail")

    def entries() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = panel.get("/api/device/dummy/journal").json()["entries"]
        return found

    assert wait_until(lambda: len(entries()) == 2, timeout_s=10)
    failed, ok = entries()
    assert (failed["command"], failed["outcome"], failed["error_type"]) == (
        "fail",
        "error",
        "DummyFault",
    )
    assert ok["command"] == "set_offset" and '"offset": 1.5' in ok["arguments"]
    login(panel, "vera")
    assert len(entries()) == 2  # a viewer reads it too


def test_without_a_storage_manager_history_and_journal_say_so(
    make_client: MakeClient, dummy: ControlServer
) -> None:
    panel = _ready(make_client(targets=_targets(dummy, None)))
    login(panel, "vera")
    journal = panel.get("/api/device/dummy/journal")
    assert journal.status_code == 503 and "storage manager" in journal.json()["detail"]
    history = panel.get("/api/device/dummy/history", params={"params": "DUMMY_TEMP"})
    assert history.status_code == 503


def test_decimation_keeps_the_extremes_of_each_stretch() -> None:
    times = [float(t) for t in range(1000)]
    values = [0.0] * 1000
    values[777] = 50.0
    values[123] = -5.0
    kept_t, kept_v = decimate(times, values, 20)
    assert len(kept_t) <= 20 and kept_t == sorted(kept_t)
    assert 50.0 in kept_v and -5.0 in kept_v
    assert decimate(times[:5], values[:5], 20) == (times[:5], values[:5])
