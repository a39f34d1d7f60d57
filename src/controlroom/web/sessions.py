"""Passwords (argon2) and server-side sessions with expiry and a CSRF token each.

A session lives only in this process: the browser holds a random token in an
HttpOnly, SameSite=Strict cookie, and the server keeps who it belongs to, the
role, when it expires and its CSRF token. Restarting the panel logs everybody
out, which is what a lab wants after a reconfiguration. Expiry is absolute
(``web.session_ttl_s`` after login), not sliding: a stolen cookie does not
live forever just because it keeps being used.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from controlroom.web.config import User

Clock = Callable[[], float]
ANONYMOUS = "anonymous"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash to store under ``web.users.<name>.password_hash``."""
    if not password:
        raise ValueError("an empty password cannot be hashed: choose one")
    return _hasher.hash(password)


def verify_password(users: Mapping[str, User], name: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None (unknown user or wrong password)."""
    user = users.get(name)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


@dataclass(frozen=True)
class Session:
    token: str  # the cookie value
    user: str
    role: str
    csrf: str  # sent back by the page in a header with every state-changing request
    expires: float  # clock seconds
    anonymous: bool = False

    def describe(self) -> dict[str, object]:
        """What the page may know about its own session (never the cookie token)."""
        return {
            "user": self.user,
            "role": self.role,
            "csrf": self.csrf,
            "expires": self.expires,
            "anonymous": self.anonymous,
        }


class SessionStore:
    """The live sessions; thread-safe, expired ones are dropped when met."""

    def __init__(self, ttl_s: float, *, clock: Clock = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: str, role: str, *, anonymous: bool = False) -> Session:
        """A new session for ``user`` with ``role``."""
        session = Session(
            token=secrets.token_urlsafe(32),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + self.ttl_s,
            anonymous=anonymous,
        )
        with self._lock:
            self._purge()
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token``; None when unknown or expired."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= self._clock():
                del self._sessions[token]
                return None
            return session

    def close(self, token: str | None) -> bool:
        """End a session (logout); False if there was none."""
        with self._lock:
            return self._sessions.pop(token or "", None) is not None

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._sessions)

    def _purge(self) -> None:
        now = self._clock()
        for token in [t for t, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[token]
