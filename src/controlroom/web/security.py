"""Who is asking, and may they: sessions on requests, CSRF, roles, security headers.

* :func:`guard` is the HTTP middleware every request passes: it finds the
  session from the cookie (or makes an anonymous one, stored nowhere, when
  the Settings allow it), refuses every state-changing request (POST, PUT,
  PATCH, DELETE) whose ``X-CSRF-Token`` header is not the session's token
  (compared in constant time, :func:`csrf_matches`), and adds the security
  headers (a strict Content-Security-Policy: only this origin's scripts,
  styles and connections; over HTTPS, Strict-Transport-Security). Pages
  cannot forget CSRF: it is checked here, before any route runs.
* :func:`require_role` is the FastAPI dependency routes use:
  ``Depends(require_role("operator"))`` returns the :class:`Session` or
  answers 401 (no session) / 403 (role too low); :data:`Viewer`,
  :data:`Operator` and :data:`Admin` are the same as parameter types
  (``def command(session: Operator) -> ...``).
* :func:`websocket_session` does the same for a WebSocket handshake, which
  the middleware does not see.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from controlroom.web.config import role_at_least
from controlroom.web.context import web_context
from controlroom.web.sessions import Session

COOKIE = "controlroom_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Login has no session yet; it is protected by accepting JSON only (a cross-site
# form cannot send JSON without the browser asking this server first).
CSRF_EXEMPT = frozenset({"/api/login"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Over HTTPS only (a browser ignores it over HTTP): this host is HTTPS for a year.
# No includeSubDomains: the panel speaks for its own host name, not for the lab's domain.
HSTS = ("Strict-Transport-Security", "max-age=31536000")

CallNext = Callable[[Request], Awaitable[Response]]


async def guard(request: Request, call_next: CallNext) -> Response:
    """The middleware: session, CSRF, headers (see the module doc)."""
    context = web_context(request)
    session = context.sessions.get(request.cookies.get(COOKIE))
    visitor = None
    if session is None:
        visitor = session = context.sessions.anonymous()
    request.state.session = session
    refusal = _csrf_refusal(request, session)
    response = refusal or await call_next(request)
    if visitor is not None and not _sets_session_cookie(response):
        # The browser keeps the visitor's signed token (nothing is stored here), so its
        # page's CSRF token and WebSocket belong to it from the first response on.
        set_session_cookie(request, response, visitor)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.scheme == "https":
        response.headers.setdefault(*HSTS)
    return response


def _csrf_refusal(request: Request, session: Session | None) -> Response | None:
    if request.method not in UNSAFE_METHODS or request.url.path in CSRF_EXEMPT:
        return None
    if session is None:
        return JSONResponse({"detail": "log in first"}, status_code=401)
    if not csrf_matches(request.headers.get(CSRF_HEADER), session):
        return JSONResponse(
            {"detail": f"missing or wrong {CSRF_HEADER} header: reload the page"},
            status_code=403,
        )
    return None


def csrf_matches(presented: object, session: Session) -> bool:
    """Whether ``presented`` is ``session``'s CSRF token, in time that does not tell how close."""
    if not isinstance(presented, str):
        return False
    return hmac.compare_digest(presented.encode(), session.csrf.encode())


def _sets_session_cookie(response: Response) -> bool:
    """Whether the route already set the session cookie (a login): that one stands."""
    prefix = f"{COOKIE}="
    return any(value.startswith(prefix) for value in response.headers.getlist("set-cookie"))


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure when served over HTTPS."""
    context = web_context(request)
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(context.config.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def session_of(request: Request) -> Session | None:
    """The session the middleware found for this request (None: not logged in)."""
    session = getattr(request.state, "session", None)
    return session if isinstance(session, Session) else None


def require_role(role: str) -> Callable[[Request], Session]:
    """A dependency: the request's session, if its role is at least ``role``."""
    role_at_least(role, role)  # an unknown role is a programming error: fail at import

    def dependency(request: Request) -> Session:
        return check_role(session_of(request), role)

    dependency.__name__ = f"require_{role}"
    return dependency


Viewer = Annotated[Session, Depends(require_role("viewer"))]
Operator = Annotated[Session, Depends(require_role("operator"))]
Admin = Annotated[Session, Depends(require_role("admin"))]
"""Route parameters: ``session: Operator`` admits operators and admins, 401/403 otherwise."""


def check_role(session: Session | None, role: str) -> Session:
    """``session`` when it may act as ``role``; else 401 or 403."""
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    if not role_at_least(session.role, role):
        raise HTTPException(
            status_code=403,
            detail=f"{session.user} has the role {session.role}; this needs {role} or higher",
        )
    return session


def websocket_session(connection: HTTPConnection) -> Session | None:
    """The session of a WebSocket handshake (cookie), or an anonymous one (not stored) when allowed.

    A handshake whose ``Origin`` is another site is refused, since browsers send
    cookies with cross-site WebSocket handshakes.
    """
    origin = connection.headers.get("origin")
    host = connection.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        return None
    context = web_context(connection)
    session = context.sessions.get(connection.cookies.get(COOKIE))
    return session or context.sessions.anonymous()
