"""Login under attack: hashing off the event loop, throttled attempts, bounded sessions.

Also CSRF compared in constant time, and anonymous visitors served without a
stored session.
"""

from __future__ import annotations

import hmac
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from panel_helpers import Clock, MakeClient, login

from controlroom.web import sessions as sessions_module
from controlroom.web.context import WebContext
from controlroom.web.pages import Page
from controlroom.web.security import COOKIE, CSRF_HEADER, Operator
from controlroom.web.sessions import HASHES_AT_ONCE, SessionStore
from controlroom.web.throttle import LoginThrottle

DEADLINE_S = 20.0  # generous: only reached when the behaviour under test is broken

router = APIRouter()


@router.post("/api/test/command")
def operator_only(session: Operator) -> dict[str, str]:
    return {"done_by": session.user}


COMMAND_PAGE = Page("test", "Test", "/test", router, nav=False)


class GatedHasher:
    """The real argon2 hasher, but each verification waits until the test opens the gate."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = threading.Event()
        self.changed = threading.Condition()
        self.inside = 0
        self.most_inside = 0

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        with self.changed:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.changed.notify_all()
        try:
            self.gate.wait(DEADLINE_S)
            return bool(self.real.verify(password_hash, password))
        finally:
            with self.changed:
                self.inside -= 1

    def wait_until_hashing(self) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.inside > 0, timeout=DEADLINE_S)


def wrong_login(client: TestClient, user: str) -> Any:
    return client.post("/api/login", json={"username": user, "password": "not-the-password"})


def web_context_of(client: TestClient) -> WebContext:
    context = client.app.state.web  # type: ignore[attr-defined]
    assert isinstance(context, WebContext)
    return context


def test_other_requests_are_served_while_wrong_logins_are_hashed(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = GatedHasher(sessions_module._hasher)
    monkeypatch.setattr(sessions_module, "_hasher", hasher)
    client = make_client()
    with ThreadPoolExecutor(max_workers=9) as pool:
        try:
            logins = [pool.submit(wrong_login, client, f"user{i}") for i in range(8)]
            assert hasher.wait_until_hashing(), "no login reached the password check"
            static = pool.submit(client.get, "/static/app.js")
            response = static.result(timeout=DEADLINE_S)  # times out while the loop is blocked
            assert response.status_code == 200
            assert not any(attempt.done() for attempt in logins)  # every login is still hashing
        finally:
            hasher.gate.set()
        statuses = [attempt.result(timeout=DEADLINE_S).status_code for attempt in logins]
    assert statuses == [401] * 8
    assert hasher.most_inside <= HASHES_AT_ONCE


def failed_logins_until_refused(client: TestClient, users: list[str]) -> Any:
    """Wrong passwords for ``users`` in turn until one gets 429; that response."""
    for user in users:
        response = wrong_login(client, user)
        if response.status_code != 401:
            return response
    raise AssertionError(f"{len(users)} failed logins in a row and none was refused")


def test_repeated_wrong_logins_for_one_user_get_429_until_the_lockout_ends(
    client: TestClient, clock: Clock
) -> None:
    refused = failed_logins_until_refused(client, ["otto"] * 30)
    assert refused.status_code == 429
    assert "user name" in refused.json()["detail"]
    wait_s = int(refused.headers["retry-after"])
    assert wait_s >= 1
    # Locked means locked: the right password does not get through (nor tell it was right).
    assert (
        client.post("/api/login", json={"username": "otto", "password": "operator-pw"}).status_code
        == 429
    )
    assert login(client, "vera")  # other users from the same address are not locked out
    clock.now += wait_s
    assert login(client, "otto")
    assert wrong_login(client, "otto").status_code == 401  # success cleared the failures


def test_the_lockout_grows_with_each_further_failure(client: TestClient, clock: Clock) -> None:
    first = int(failed_logins_until_refused(client, ["otto"] * 30).headers["retry-after"])
    clock.now += first
    assert wrong_login(client, "otto").status_code == 401
    second = int(wrong_login(client, "otto").headers["retry-after"])
    assert second > first


def test_wrong_logins_from_one_address_get_429_whatever_the_user_name(
    client: TestClient, clock: Clock
) -> None:
    names = [f"guess{i}" for i in range(60)]
    refused = failed_logins_until_refused(client, names)
    assert refused.status_code == 429
    assert "address" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    elsewhere = TestClient(client.app, client=("192.0.2.7", 40000))
    assert login(elsewhere, "otto")  # another address is not locked out
    clock.now += int(refused.headers["retry-after"])
    assert login(client, "otto")


def test_the_throttle_table_stays_bounded_when_user_names_are_sprayed() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        failures_per_user=5,
        failures_per_address=10**9,
        first_lockout_s=1.0,
        max_lockout_s=60.0,
        capacity=500,
        clock=clock,
    )
    for i in range(20_000):
        assert throttle.admit(f"name{i}", "198.51.100.1") is None
        throttle.settle(f"name{i}", "198.51.100.1", succeeded=False)
        clock.now += 0.001
    assert throttle.entries() <= 2 * 500
    # Old entries are forgotten, not only pushed out when the table is full.
    clock.now += 1000.0
    assert throttle.admit("fresh", "198.51.100.2") is None
    assert throttle.entries() <= 2


def test_csrf_tokens_are_compared_in_constant_time(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    client = make_client(pages=[COMMAND_PAGE])
    csrf = login(client, "otto")
    monkeypatch.setattr(hmac, "compare_digest", spy)
    forged = ("A" if csrf[0] != "A" else "B") + csrf[1:]
    assert client.post("/api/test/command", headers={CSRF_HEADER: forged}).status_code == 403
    assert any(csrf.encode() in pair for pair in compared)
    compared.clear()
    assert client.post("/api/test/command", headers={CSRF_HEADER: csrf}).status_code == 200
    assert any(csrf.encode() in pair for pair in compared)
    # A header that is not ASCII is a wrong token, not a server error.
    not_ascii = ("é" * len(csrf)).encode("latin-1")
    response = client.post("/api/test/command", headers={CSRF_HEADER: not_ascii})
    assert response.status_code == 403


def test_anonymous_requests_without_a_cookie_store_no_session(make_client: MakeClient) -> None:
    client = make_client(allow_anonymous=True)
    store = web_context_of(client).sessions
    before = len(store)
    for _ in range(1000):
        client.cookies.clear()
        assert client.get("/api/session").status_code == 200
    assert len(store) == before


def test_anonymous_visitors_use_the_panel_as_before(make_client: MakeClient) -> None:
    client = make_client(pages=[COMMAND_PAGE], allow_anonymous=True, anonymous_role="operator")
    store = web_context_of(client).sessions
    assert client.get("/", follow_redirects=False).status_code == 200
    me = client.get("/api/session").json()
    assert me["anonymous"] and me["role"] == "operator" and me["csrf"]
    assert client.get("/api/session").json()["csrf"] == me["csrf"]  # the same visitor
    command = "/api/test/command"
    assert client.post(command, headers={CSRF_HEADER: me["csrf"]}).json() == {
        "done_by": "anonymous"
    }
    assert client.post(command, headers={CSRF_HEADER: "forged"}).status_code == 403
    assert client.post(command).status_code == 403
    with client.websocket_connect("/ws?topics=none/") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "command", "id": 1, "action": "ping", "csrf": me["csrf"]})
        assert ws.receive_json() == {"type": "reply", "id": 1, "result": "pong"}
    # Another browser (no cookie) cannot use this visitor's token.
    stranger = TestClient(client.app)
    assert stranger.post(command, headers={CSRF_HEADER: me["csrf"]}).status_code == 403
    assert len(store) == 0


def test_an_anonymous_cookie_cannot_be_forged(make_client: MakeClient) -> None:
    client = make_client(pages=[COMMAND_PAGE], allow_anonymous=True, anonymous_role="operator")
    csrf = client.get("/api/session").json()["csrf"]
    token = client.cookies[COOKIE]
    client.cookies.clear()
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    headers = {CSRF_HEADER: csrf, "cookie": f"{COOKIE}={forged}"}
    assert client.post("/api/test/command", headers=headers).status_code == 403
    headers["cookie"] = f"{COOKIE}={token}"
    assert client.post("/api/test/command", headers=headers).status_code == 200


def test_logging_in_from_an_anonymous_visit_without_a_cookie_keeps_the_login(
    make_client: MakeClient,
) -> None:
    client = make_client(allow_anonymous=True)
    login(client, "otto")
    assert client.get("/api/session").json()["user"] == "otto"


def test_the_session_table_is_bounded_and_drops_the_oldest_first() -> None:
    clock = Clock()
    store = SessionStore(600.0, clock=clock, max_sessions=3)
    opened = []
    for user in ["a", "b", "c", "d", "e"]:
        opened.append(store.open(user, "viewer"))
        clock.now += 1.0
    assert len(store) == 3
    assert [store.get(s.token) is not None for s in opened] == [False, False, True, True, True]


def test_parallel_guesses_cannot_slip_in_before_the_first_ones_fail() -> None:
    throttle = LoginThrottle(
        failures_per_user=5,
        failures_per_address=100,
        first_lockout_s=1.0,
        max_lockout_s=60.0,
        clock=Clock(),
    )
    admitted = [throttle.admit("ada", "198.51.100.1") is None for _ in range(20)]
    assert admitted.count(True) == 5
    refused = throttle.admit("ada", "198.51.100.1")
    assert refused is not None and refused.retry_after_s >= 1
