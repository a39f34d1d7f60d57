"""Leases from the panel: taken, renewed, released and broken for the logged-in user.

A real control server in this process (a bench with one command and one
read) and the panel in process with it as its target. Without CURVE the
panel is ``anonymous`` on loopback (a delegate), so a lease taken through it
is held by ``otto via web (key anonymous)``; with the lab key ``(key lab)``.
Two operators, otto and olga, log in on the same client one after the other.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from panel_helpers import PASSWORDS, ROLES, MakeClient, login

from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.rpc.keyring import Keyring
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import DEVICE, Target
from controlroom.web.sessions import hash_password

ANY_PORT = "tcp://127.0.0.1:0"
LEASE = "/api/device/bench/lease"
OLGA = ("olga", "second-operator-pw")
UNTIL = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: hash each password once


def _users() -> dict[str, dict[str, str]]:
    users = {name: {"password_hash": _hash(PASSWORDS[name]), "role": ROLES[name]} for name in ROLES}
    users[OLGA[0]] = {"password_hash": _hash(OLGA[1]), "role": "operator"}
    return users


def _bench() -> FunctionTable:
    state = {"offset": 0.0}

    def set_offset(value: float) -> float:
        state["offset"] = value
        return value

    return FunctionTable(
        {"set_offset": set_offset, "get_offset": lambda: state["offset"]},
        access={"get_offset": "read"},
    )


@pytest.fixture
def bench() -> Iterator[ControlServer]:
    server = ControlServer("bench", _bench(), endpoint=ANY_PORT, pub_endpoint=ANY_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def panel(make_client: MakeClient, bench: ControlServer) -> TestClient:
    targets = {"bench": Target("bench", DEVICE, bench.endpoint, bench.pub_endpoint)}
    client = make_client(targets=targets, users=_users())
    hub = client.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: hub.servers().get("bench", {}).get("up"), timeout_s=10)
    return client


def _as(client: TestClient, user: str) -> dict[str, str]:
    """Log ``client`` in as ``user``; the CSRF header of that session."""
    password = OLGA[1] if user == OLGA[0] else None
    return {"X-CSRF-Token": login(client, user, password)}


def _take(client: TestClient, headers: dict[str, str], seconds: float = 900) -> Any:
    return client.post(LEASE, json={"seconds": seconds}, headers=headers)


def _command(client: TestClient, headers: dict[str, str], value: float) -> Any:
    body = {"command": "set_offset", "args": {"value": value}}
    return client.post("/api/device/bench/command", json=body, headers=headers)


def _holder(bench: ControlServer) -> str | None:
    with Proxy(bench.endpoint, timeout=5.0) as proxy:
        found = proxy.lease_status()
    return None if found is None else str(found["holder"])


def test_an_operator_takes_the_lease_and_every_user_sees_who_holds_it(
    panel: TestClient, bench: ControlServer
) -> None:
    otto = _as(panel, "otto")
    assert panel.get(LEASE).json() == {"server": "bench", "lease": None, "mine": False}
    before = time.time()
    taken = _take(panel, otto)
    after = time.time()
    assert taken.status_code == 200, taken.text
    answer = taken.json()
    assert answer["mine"] is True and answer["server"] == "bench"
    assert answer["lease"]["holder"] == "otto via web (key anonymous)"
    # The lease runs for the seconds asked (900 by default) from when it was taken.
    assert before + 900 <= answer["lease"]["until_s"] <= after + 900
    assert _holder(bench) == "otto via web (key anonymous)"
    assert panel.get(LEASE).json()["mine"] is True
    _as(panel, "vera")
    seen = panel.get(LEASE).json()
    assert seen["mine"] is False and seen["lease"]["holder"] == "otto via web (key anonymous)"
    listed = {d["name"]: d["lease"] for d in panel.get("/api/device").json()}
    assert listed["bench"]["holder"] == "otto via web (key anonymous)"


def test_the_holder_renews_and_releases(panel: TestClient, bench: ControlServer) -> None:
    otto = _as(panel, "otto")
    assert _take(panel, otto, 900).status_code == 200
    before = time.time()
    renewed = _take(panel, otto, 3600).json()["lease"]
    after = time.time()
    assert renewed["renewals"] == 1 and before + 3600 <= renewed["until_s"] <= after + 3600
    released = panel.post(f"{LEASE}/release", headers=otto)
    assert released.status_code == 200
    assert released.json() == {"server": "bench", "lease": None, "mine": False, "released": True}
    assert _holder(bench) is None
    again = panel.post(f"{LEASE}/release", headers=otto).json()
    assert again["released"] is False  # there was none
    listed = {d["name"]: d["lease"] for d in panel.get("/api/device").json()}
    assert listed == {"bench": None}


def test_another_operator_is_refused_with_the_holder_until_it_is_released(
    panel: TestClient, bench: ControlServer
) -> None:
    assert _take(panel, _as(panel, "otto")).status_code == 200
    olga = _as(panel, "olga")
    assert panel.get(LEASE).json()["mine"] is False
    refused = _command(panel, olga, 1.0)
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert re.fullmatch(
        f"bench is leased by otto via web \\(key anonymous\\) until {UNTIL}", detail
    )
    assert "Traceback" not in detail
    taken = _take(panel, olga)
    assert taken.status_code == 403 and "leased by otto via web" in taken.json()["detail"]
    not_hers = panel.post(f"{LEASE}/release", headers=olga)
    assert not_hers.status_code == 403 and "leased by otto" in not_hers.json()["detail"]
    read = panel.post(
        "/api/device/bench/command", json={"command": "get_offset"}, headers=olga
    )  # reads stay open
    assert read.status_code == 200 and read.json()["result"] == 0.0

    otto = _as(panel, "otto")
    assert _command(panel, otto, 2.0).json()["ok"] is True  # the holder commands
    assert panel.post(f"{LEASE}/release", headers=otto).json()["released"] is True
    olga = _as(panel, "olga")
    done = _command(panel, olga, 3.0)
    assert done.status_code == 200 and done.json()["ok"] is True
    assert _holder(bench) is None


def test_an_admin_breaks_a_lease_and_an_operator_may_not(
    panel: TestClient, bench: ControlServer
) -> None:
    assert _take(panel, _as(panel, "otto")).status_code == 200
    refused = panel.post(f"{LEASE}/break", headers=_as(panel, "olga"))
    assert refused.status_code == 403 and "needs admin" in refused.json()["detail"]
    assert _holder(bench) == "otto via web (key anonymous)"
    ada = _as(panel, "ada")
    assert _command(panel, ada, 1.0).status_code == 403  # an admin's commands wait too
    broken = panel.post(f"{LEASE}/break", headers=ada)
    assert broken.status_code == 200, broken.text
    assert broken.json()["released"] is True and broken.json()["lease"] is None
    assert _holder(bench) is None
    assert _command(panel, ada, 1.0).json()["ok"] is True


def test_a_viewer_cannot_take_a_lease(panel: TestClient, bench: ControlServer) -> None:
    vera = _as(panel, "vera")
    refused = _take(panel, vera)
    assert refused.status_code == 403 and "needs operator" in refused.json()["detail"]
    assert panel.post(f"{LEASE}/release", headers=vera).status_code == 403
    assert _holder(bench) is None


def test_lease_lengths_outside_the_servers_range_are_refused(panel: TestClient) -> None:
    otto = _as(panel, "otto")
    for seconds in (0, 86401, "long"):
        refused = panel.post(LEASE, json={"seconds": seconds}, headers=otto)
        assert refused.status_code == 422, seconds
    assert panel.post(LEASE, json={"seconds": 900}).status_code == 403  # no CSRF header


def test_a_device_that_is_down_has_no_lease_to_show(
    panel: TestClient, bench: ControlServer
) -> None:
    _as(panel, "vera")
    bench.stop()
    hub = panel.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: not hub.servers()["bench"]["up"], timeout_s=10)
    down = panel.get(LEASE)
    assert down.status_code == 503 and "bench is down" in down.json()["detail"]
    assert panel.get("/api/device").json()[0]["lease"] is None
    assert panel.get("/api/device/nope/lease").status_code == 404


def test_with_curve_the_holder_is_the_user_through_the_lab_key(
    secured_instance: Keyring, panel: TestClient, bench: ControlServer
) -> None:
    assert bench.secured
    otto = _as(panel, "otto")
    answer = _take(panel, otto).json()
    assert answer["lease"]["holder"] == "otto via web (key lab)" and answer["mine"] is True
    olga = _as(panel, "olga")
    assert panel.get(LEASE).json()["mine"] is False
    assert "leased by otto via web (key lab)" in _command(panel, olga, 1.0).json()["detail"]


def test_the_device_list_follows_leases_from_events_after_asking_once(
    panel: TestClient, bench: ControlServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controlroom.web.pages import devicelease

    asked: list[str] = []
    real_proxy = devicelease._proxy

    def counted(name: str, *args: Any) -> Any:
        asked.append(name)
        return real_proxy(name, *args)

    monkeypatch.setattr(devicelease, "_proxy", counted)
    _as(panel, "vera")

    def listed() -> Any:
        return {d["name"]: d["lease"] for d in panel.get("/api/device").json()}["bench"]

    assert listed() is None and asked == ["bench"]
    assert listed() is None and asked == ["bench"]  # known now: not asked again
    with Proxy(bench.endpoint, name="bench") as script:  # a lease taken outside the panel
        before = time.time()
        script.lease(60)
        assert wait_until(lambda: listed() is not None, timeout_s=10)  # from lease_taken
        assert listed()["holder"] == "anonymous" and listed()["until_s"] >= before + 60
        shown = listed()  # its remaining time counted from the device's own end, on our clock
        assert before <= shown["until_s"] - shown["remaining_s"] <= time.time()
        script.release()
        assert wait_until(lambda: listed() is None, timeout_s=10)  # from lease_released
    assert asked == ["bench"]
