"""The configuration manager as a control server: proxy, events to listeners, published status."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
import zmq

from controlroom import wire
from controlroom.config.settings import load_settings
from controlroom.config.setup import Setup
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.rpc import ControlServer, FunctionTable, RemoteError
from controlroom.services.confman.server import ConfigurationManager, build_server
from controlroom.testing.processes import ServerProcess

ANY_PORT = "tcp://127.0.0.1:0"
HEXAPOD = {"gse": {"hexapod": {"ID": 42, "name": "PUNA"}}}


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local settings: confman on port 0, every location in tmp_path."""
    local = {
        "site": "LAB",
        "services": {"confman": {"commands": ANY_PORT, "publish": ANY_PORT}},
        "locations": {name: str(tmp_path / name) for name in ("conf_repo", "data", "state")},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def confman(settings_file: Path) -> Iterator[tuple[ControlServer, DeviceProxy]]:
    server = build_server(load_settings(settings_file))
    server.start()
    proxy = make_proxy(ConfigurationManager, server.endpoint, timeout=10.0)
    try:
        yield server, proxy
    finally:
        proxy.close()
        server.stop()


def test_submit_list_get_load_and_diff_through_a_proxy(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    assert proxy.get_current_setup() is None
    assert proxy.submit_setup(HEXAPOD, "hexapod installed") == 1
    edited = Setup.from_dict(proxy.get_setup(1))
    edited["gse"]["hexapod"]["ID"] = 43
    assert proxy.submit_setup(edited.to_dict(), "new hexapod") == 2
    listed = proxy.list_setups()
    assert [(m["id"], m["derived_from"]) for m in listed] == [(1, None), (2, 1)]
    assert [m["id"] for m in proxy.list_setups("LAB", {"gse.hexapod.ID": 43})] == [2]
    assert proxy.list_setups(site="CSL") == []
    loaded = proxy.load_setup(2)
    assert loaded["_meta"]["description"] == "new hexapod"
    assert proxy.get_current_setup()["_meta"]["id"] == 2
    diff = proxy.diff_setups(1, 2)
    assert diff["changes"] == [{"path": "gse.hexapod.ID", "change": "changed", "a": 42, "b": 43}]
    assert "+    ID: 43" in diff["text"]


def test_refusals_come_back_as_remote_errors_and_the_server_keeps_serving(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    with pytest.raises(RemoteError, match="no Setup 9") as unknown:
        proxy.get_setup(9)
    assert unknown.value.info.type == "UnknownSetup"
    with pytest.raises(RemoteError, match="description"):
        proxy.submit_setup(HEXAPOD, "")
    proxy.submit_setup(HEXAPOD, "first")
    obsid = proxy.start_observation("warm-up")
    with pytest.raises(RemoteError, match=f"observation {obsid} is running"):
        proxy.start_observation("another")
    with pytest.raises(RemoteError, match=f"observation {obsid} is running"):
        proxy.load_setup(1)  # the Setup changes between observations only
    assert proxy.end_observation()["obsid"] == obsid
    with pytest.raises(RemoteError, match="no observation is running"):
        proxy.end_observation()
    assert proxy.ping() == "pong"


def test_past_observations_are_listed_and_found_by_obsid(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    assert proxy.list_observations() == []
    first = proxy.start_observation("warm-up")
    proxy.end_observation()
    second = proxy.start_observation("cold")
    listed = proxy.list_observations(10)
    assert [(o["obsid"], o["ended"] is None) for o in listed] == [(second, True), (first, False)]
    assert [o["obsid"] for o in proxy.list_observations(1)] == [second]
    assert proxy.get_observation()["obsid"] == second
    assert proxy.get_observation(first)["description"] == "warm-up"
    assert proxy.get_observation("LAB_00099") is None
    with pytest.raises(RemoteError, match="limit must be 0 or more"):
        proxy.list_observations(-1)


def test_listeners_receive_new_setup_and_observation_events(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = confman
    listener = ControlServer("storage", FunctionTable({}))
    received: list[dict[str, Any]] = []
    got_all = threading.Event()

    def record(payload: dict[str, Any]) -> None:
        received.append(payload)
        if len(received) == 3:
            got_all.set()

    listener.on_event("*", record)
    with listener:
        proxy.call("register_listener", "storage", listener.endpoint)
        proxy.submit_setup(HEXAPOD, "first")
        proxy.load_setup(1)
        obsid = proxy.start_observation("cold test")
        proxy.end_observation()
        assert got_all.wait(10.0)
    assert [(p["event"], p["source"]) for p in received] == [
        ("new_setup", "confman"),
        ("observation_started", "confman"),
        ("observation_ended", "confman"),
    ]
    assert received[0]["data"] == {"setup_id": 1, "site": "LAB"}
    assert received[1]["data"]["obsid"] == obsid
    assert received[1]["data"]["setup_id"] == 1
    assert received[2]["data"]["ended"] is not None


def _published_status(pub_endpoint: str, wanted: Callable[[dict[str, Any]], bool]) -> dict:
    """The first ``status/confman`` sample that ``wanted`` accepts (within 10 s)."""
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 10_000)
    sub.subscribe(b"status/confman")
    sub.connect(pub_endpoint)
    try:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            topic, *body = sub.recv_multipart()
            values: dict[str, Any] = wire.unpack(body)["values"]
            if topic == b"status/confman" and wanted(values):
                return values
    finally:
        sub.close()
    raise AssertionError("no matching status was published")


def test_status_publishes_site_setup_id_and_obsid(
    confman: tuple[ControlServer, DeviceProxy],
) -> None:
    server, proxy = confman
    idle = _published_status(server.pub_endpoint, lambda v: True)
    assert idle == {"site": "LAB", "setup_id": None, "obsid": None}
    proxy.submit_setup(HEXAPOD, "first")
    proxy.load_setup(1)
    obsid = proxy.start_observation("tagged")
    running = _published_status(server.pub_endpoint, lambda v: v["obsid"] is not None)
    assert running == {"site": "LAB", "setup_id": 1, "obsid": obsid}


@pytest.mark.integration
def test_a_restarted_process_carries_on(settings_file: Path) -> None:
    argv = [sys.executable, "-m", "controlroom.processes.service", "confman"]
    with ServerProcess(argv, ready_timeout=30.0) as first:
        with make_proxy(ConfigurationManager, first.endpoint, timeout=10.0) as proxy:
            proxy.submit_setup(HEXAPOD, "before the restart")
            proxy.load_setup(1)
            obsid = proxy.start_observation("spans a restart")
        first.kill()  # like a crash: nothing is saved on the way out
    with ServerProcess(argv, ready_timeout=30.0) as second:
        proxy = make_proxy(ConfigurationManager, second.endpoint, timeout=10.0)
        with proxy:
            assert proxy.get_observation()["obsid"] == obsid
            assert proxy.get_current_setup()["_meta"]["id"] == 1
            assert proxy.submit_setup(HEXAPOD, "after") == 2
            proxy.end_observation()
            assert proxy.start_observation("next") != obsid
