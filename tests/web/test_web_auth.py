"""Access to the panel: login, logout, expiry, roles, CSRF, anonymous access."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from panel_helpers import Clock, MakeClient, login, panel_settings

from controlroom.web import WebConfigError, create_app
from controlroom.web.discovery import StaticDiscovery
from controlroom.web.pages import Page
from controlroom.web.security import CSRF_HEADER, Operator

router = APIRouter()


@router.post("/api/test/command")
def operator_only(session: Operator) -> dict[str, str]:
    return {"done_by": session.user}


COMMAND_PAGE = Page("test", "Test", "/test", router, nav=False)


def test_login_opens_a_session_with_a_strict_http_only_cookie(client: TestClient) -> None:
    response = client.post("/api/login", json={"username": "otto", "password": "operator-pw"})
    assert response.status_code == 200
    assert response.json()["role"] == "operator"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    me = client.get("/api/session").json()
    assert me["user"] == "otto" and me["csrf"] and not me["anonymous"]


@pytest.mark.parametrize(("user", "password"), [("otto", "wrong"), ("nobody", "operator-pw")])
def test_a_bad_password_or_unknown_user_is_refused(
    client: TestClient, user: str, password: str
) -> None:
    response = client.post("/api/login", json={"username": user, "password": password})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown user or wrong password"
    assert client.get("/api/session").status_code == 401


def test_login_takes_json_only(client: TestClient) -> None:
    response = client.post("/api/login", data={"username": "otto", "password": "operator-pw"})
    assert response.status_code == 415


def test_logout_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "vera")
    assert client.post("/api/logout").status_code == 403
    assert client.get("/api/session").status_code == 200
    assert client.post("/api/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert client.get("/api/session").status_code == 401


def test_a_session_expires_after_its_ttl(client: TestClient, clock: Clock) -> None:
    login(client, "vera")
    clock.now += 599.0
    assert client.get("/api/session").status_code == 200
    clock.now += 2.0
    assert client.get("/api/session").status_code == 401


def test_a_page_without_a_session_sends_the_visitor_to_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize(("user", "status"), [("vera", 403), ("otto", 200), ("ada", 200)])
def test_roles_guard_a_protected_endpoint(make_client: MakeClient, user: str, status: int) -> None:
    client = make_client(pages=[COMMAND_PAGE])
    csrf = login(client, user)
    response = client.post("/api/test/command", headers={CSRF_HEADER: csrf})
    assert response.status_code == status, response.text
    if status == 403:
        assert "needs operator" in response.json()["detail"]


def test_state_changing_requests_without_the_right_csrf_token_are_refused(
    make_client: MakeClient,
) -> None:
    client = make_client(pages=[COMMAND_PAGE])
    assert client.post("/api/test/command").status_code == 401  # not logged in
    login(client, "otto")
    for headers in ({}, {CSRF_HEADER: "forged"}):
        response = client.post("/api/test/command", headers=headers)
        assert response.status_code == 403
        assert CSRF_HEADER in response.json()["detail"]


def test_responses_carry_a_strict_content_security_policy(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "lab-pc.example", "::"])
def test_anonymous_access_is_refused_on_an_address_others_can_reach(host: str) -> None:
    settings = panel_settings(allow_anonymous=True)
    with pytest.raises(WebConfigError, match=r"allow_anonymous.*127\.0\.0\.1"):
        create_app(settings, bind_host=host, discovery=StaticDiscovery({}))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_anonymous_access_on_loopback_gets_the_anonymous_role(host: str, clock: Clock) -> None:
    settings = panel_settings(allow_anonymous=True, anonymous_role="viewer")
    app = create_app(settings, bind_host=host, discovery=StaticDiscovery({}), clock=clock)
    with TestClient(app) as client:
        me = client.get("/api/session").json()
        assert me["anonymous"] and me["role"] == "viewer"
        assert client.get("/", follow_redirects=False).status_code == 200
        assert login(client, "otto")  # a user may still log in for more rights
        assert client.get("/api/session").json()["user"] == "otto"


def test_bad_web_settings_name_the_key() -> None:
    with pytest.raises(WebConfigError, match=r"web\.session_ttl_s"):
        create_app(panel_settings(session_ttl_s=-1.0), discovery=StaticDiscovery({}))
