"""Passwords (argon2) and server-side sessions with expiry and a CSRF token each.

A session lives only in this process: the browser holds a random token in an
HttpOnly, SameSite=Strict cookie, and the server keeps who it belongs to, the
role, when it expires and its CSRF token. Restarting the panel logs everybody
out, which is what a lab wants after a reconfiguration. Expiry is absolute
(``web.session_ttl_s`` after login), not sliding: a stolen cookie does not
live forever just because it keeps being used. At most ``web.max_sessions``
are kept; beyond that the oldest ends.

Anonymous visitors (``web.allow_anonymous``) are not stored at all: their
cookie is signed with a key of this process and carries its own expiry and a
random nonce, and their CSRF token is derived from that nonce. A script that
polls the panel without keeping cookies costs no memory, and each browser
still has a CSRF token of its own that another site cannot learn.

Checking a password costs argon2's deliberate ~0.1-0.6 s of CPU: :class:`Passwords`
runs it in worker threads, a few at a time, so the event loop keeps serving.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from controlroom.config.schema.web import WebUser

log = logging.getLogger(__name__)

Clock = Callable[[], float]
ANONYMOUS = "anonymous"
# Each argon2 check takes a core and 64 MiB for its duration: a few at once, the rest queue.
HASHES_AT_ONCE = 2
_ANONYMOUS_TAG = "anon"  # first part of an anonymous token; stored tokens never contain "."

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


def verify_password(users: Mapping[str, WebUser], name: str, password: str) -> WebUser | None:
    """The user when ``password`` is theirs, else None (unknown user or wrong password)."""
    user = users.get(name)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


class Passwords:
    """Checks passwords against ``users`` in worker threads, at most ``at_once`` together.

    The limit is this object's own, so a burst of logins waits here instead of
    taking the threads that synchronous routes (static files, pages) run in.
    """

    def __init__(self, users: Mapping[str, WebUser], *, at_once: int = HASHES_AT_ONCE) -> None:
        self._users = users
        self._limiter = anyio.CapacityLimiter(at_once)

    async def verify(self, name: str, password: str) -> WebUser | None:
        """The user when ``password`` is theirs, else None; the event loop keeps running."""
        return await anyio.to_thread.run_sync(
            verify_password, self._users, name, password, limiter=self._limiter
        )


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
        public: dict[str, object] = asdict(self)
        del public["token"]
        return public


class SessionStore:
    """The live sessions of users; thread-safe, bounded, expired ones dropped when met.

    Anonymous sessions are made here too (:meth:`anonymous`) but never stored:
    :meth:`get` recognises their signed tokens. ``anonymous_role`` None means
    anonymous access is off and such tokens are refused.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        clock: Clock = time.time,
        max_sessions: int = 10_000,
        anonymous_role: str | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.anonymous_role = anonymous_role
        self._clock = clock
        # Insertion order is expiry order (one ttl for all): the oldest are first.
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        # A restart voids anonymous tokens, as it ends the stored sessions.
        self._key = secrets.token_bytes(32)

    def open(self, user: str, role: str) -> Session:
        """A new session for ``user`` with ``role``; the oldest one ends when the table is full."""
        session = Session(
            token=secrets.token_urlsafe(32),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + self.ttl_s,
        )
        with self._lock:
            self._purge()
            while len(self._sessions) >= self.max_sessions:
                oldest = next(iter(self._sessions.values()))
                del self._sessions[oldest.token]
                log.warning(
                    "web panel: %d sessions open (web.max_sessions): ended %s's oldest",
                    self.max_sessions,
                    oldest.user,
                )
            self._sessions[session.token] = session
        return session

    def anonymous(self) -> Session | None:
        """A new anonymous session (nothing stored); None when anonymous access is off."""
        if self.anonymous_role is None:
            return None
        expires = int(self._clock() + self.ttl_s)
        signed = f"{_ANONYMOUS_TAG}.{expires}.{secrets.token_urlsafe(16)}"
        return self._anonymous_session(f"{signed}.{self._sign(signed)}")

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token``; None when unknown or expired."""
        if not token:
            return None
        if token.startswith(f"{_ANONYMOUS_TAG}."):
            return self._anonymous_session(token)
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= self._clock():
                del self._sessions[token]
                return None
            return session

    def close(self, token: str | None) -> bool:
        """End a session (logout); False if there was none stored."""
        with self._lock:
            return self._sessions.pop(token or "", None) is not None

    def __len__(self) -> int:
        """How many sessions are stored (anonymous ones never are)."""
        with self._lock:
            self._purge()
            return len(self._sessions)

    def _purge(self) -> None:
        now = self._clock()
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if oldest.expires > now:
                return
            del self._sessions[oldest.token]

    def _anonymous_session(self, token: str) -> Session | None:
        """The session a signed anonymous ``token`` stands for; None if forged or expired."""
        signed, _, signature = token.rpartition(".")
        parts = signed.split(".")
        if self.anonymous_role is None or len(parts) != 3:
            return None
        if not hmac.compare_digest(signature.encode(), self._sign(signed).encode()):
            return None
        expires = int(parts[1])  # signed by us: digits
        if expires <= self._clock():
            return None
        return Session(
            token=token,
            user=ANONYMOUS,
            role=self.anonymous_role,
            csrf=self._sign(f"csrf.{parts[2]}"),
            expires=expires,
            anonymous=True,
        )

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
