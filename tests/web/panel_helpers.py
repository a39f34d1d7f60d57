"""Helpers for the web panel's tests (imported by name: keep this file name unique).

``panel_settings`` makes a Settings mapping with users whose passwords are
known; ``Clock`` is a settable clock for session expiry; ``login`` logs a
TestClient in and returns the session's CSRF token. ``device_panel`` and
``check_device_page`` serve the pages of one device (the camera, the hexapod).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.testclient import TestClient

from controlroom.rpc import ControlServer
from controlroom.testing.waiting import wait_until
from controlroom.web.discovery import Target
from controlroom.web.sessions import hash_password

PASSWORDS = {"vera": "viewer-pw", "otto": "operator-pw", "ada": "admin-pw"}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin"}

MakeClient = Callable[..., TestClient]
"""The ``make_client`` fixture: ``make_client(targets=..., pages=..., **web)``."""


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: hash each password once


def panel_settings(**web: Any) -> dict[str, Any]:
    """Settings for an app under test: no core services, three users, ``web`` overrides."""
    users = {
        name: {"password_hash": _hash(PASSWORDS[name]), "role": role}
        for name, role in ROLES.items()
    }
    return {
        "site": "LAB",
        "services": {},
        "devices": {},
        "web": {"users": users, "session_ttl_s": 600.0, "discover_every_s": 0.2, **web},
    }


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def login(client: TestClient, user: str, password: str | None = None) -> str:
    """Log ``client`` in as ``user``; the session's CSRF token."""
    response = client.post(
        "/api/login", json={"username": user, "password": password or PASSWORDS[user]}
    )
    assert response.status_code == 200, response.text
    body: Mapping[str, Any] = response.json()
    return str(body["csrf"])


def device_panel(
    make_client: MakeClient, name: str, server: ControlServer, wait_s: float
) -> TestClient:
    """A panel that follows the control server of device ``name``, once its hub sees it up."""
    target = Target(name, "device", server.endpoint, server.pub_endpoint)
    client = make_client(targets={name: target})
    hub = client.app.state.web.hub  # type: ignore[attr-defined]
    assert wait_until(lambda: hub.servers().get(name, {}).get("up"), timeout_s=wait_s)
    return client


def check_device_page(panel: TestClient, client: TestClient, page: str, title: str) -> str:
    """The page of a device and its meta need a session; logged in, the shell loads the
    page's module once and its style, and the nav lists the page, but not on ``client``,
    a panel that knows no such device. Returns the page's HTML."""
    shell = panel.get(f"/{page}", follow_redirects=False)
    assert shell.status_code == 303 and shell.headers["location"] == f"/login?next=%2F{page}"
    assert panel.get(f"/api/{page}").status_code == 401
    login(panel, "vera")
    html = panel.get(f"/{page}").text
    assert html.count(f"/static/{page}.js") == 1 and f"/static/{page}.css" in html
    entry = {"name": page, "title": title, "path": f"/{page}"}
    assert entry in panel.get("/api/pages").json()
    login(client, "vera")
    assert entry not in client.get("/api/pages").json()
    return html
