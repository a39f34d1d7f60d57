"""Helpers for the web panel's tests (imported by name: keep this file name unique).

``panel_settings`` makes a Settings mapping with users whose passwords are
known; ``Clock`` is a settable clock for session expiry; ``login`` logs a
TestClient in and returns the session's CSRF token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.testclient import TestClient

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
