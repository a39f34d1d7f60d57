"""Logging in and out: ``/login`` (page), ``/api/login``, ``/api/logout``, ``/api/session``.

``POST /api/login`` takes JSON ``{"username", "password"}`` only (so a
cross-site form cannot log a victim into the attacker's account), checks the
argon2 hash from ``web.users`` (in a worker thread: the panel keeps serving),
opens a server-side session and sets its cookie. Failed logins are counted
per user name and per client address; beyond ``web.login_failures_per_user``
(``..._per_address``) attempts get 429 with a ``Retry-After`` header until a
lockout that grows with each failure has passed (see
:mod:`controlroom.web.throttle`). ``GET /api/session`` tells the page who it
is and its CSRF token; ``POST /api/logout`` (with that token) ends the session.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from controlroom.web.context import Context
from controlroom.web.pages import Page, asset_response
from controlroom.web.security import COOKIE, session_of, set_session_cookie

log = logging.getLogger(__name__)
router = APIRouter()


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


@router.get("/login", include_in_schema=False)
def login_page() -> Response:
    return asset_response("login.html")


@router.post("/api/login")
async def login(request: Request, context: Context) -> Response:
    """Open a session for a user of ``web.users`` whose password matches."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(status_code=415, detail="send the credentials as application/json")
    try:
        credentials = Credentials.model_validate_json(await request.body())
    except ValueError:
        raise HTTPException(
            status_code=422, detail='expected {"username": ..., "password": ...}'
        ) from None
    name, address = credentials.username, request.client.host if request.client else "unknown"
    lockout = context.throttle.admit(name, address)
    if lockout is not None:
        raise HTTPException(
            status_code=429,
            detail=lockout.message(),
            headers={"Retry-After": str(lockout.retry_after_s)},
        )
    user = None
    try:
        user = await context.passwords.verify(name, credentials.password)
    finally:
        context.throttle.settle(name, address, succeeded=user is not None)
    if user is None:
        log.warning("web panel: failed login for %r", credentials.username)
        raise HTTPException(status_code=401, detail="unknown user or wrong password")
    old = session_of(request)
    if old is not None:
        context.sessions.close(old.token)  # a new login never reuses a session id
    session = context.sessions.open(name, user.role)
    log.info("web panel: %s logged in (%s)", name, user.role)
    response = JSONResponse(session.describe())
    set_session_cookie(request, response, session)
    return response


@router.post("/api/logout")
def logout(request: Request, context: Context) -> Response:
    """End the session (the CSRF middleware has checked the token)."""
    session = session_of(request)
    if session is not None:
        context.sessions.close(session.token)
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/session")
def current_session(request: Request) -> dict[str, Any]:
    """Who this page is logged in as, and its CSRF token; 401 when nobody."""
    session = session_of(request)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    return session.describe()


page = Page("login", "Log in", "/login", router, nav=False)
