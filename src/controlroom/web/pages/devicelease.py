"""Leases on the device page: who holds a device, and taking, renewing, releasing or
breaking its lease for the logged-in user (see :mod:`controlroom.rpc.leases`).

Routes (on the device page's router; every POST needs the CSRF header):

* ``GET /api/device/<name>/lease`` -- ``{server, lease, mine}``: the device's
  ``lease_status`` (``{holder, until, remaining_s, ...}`` or null) and whether
  this session holds it;
* ``POST /api/device/<name>/lease`` ``{"seconds"}`` (operator) -- take the lease,
  or renew it for its holder; answers like the GET;
* ``POST /api/device/<name>/lease/release`` (operator) -- end one's own lease;
* ``POST /api/device/<name>/lease/break`` (admin) -- ``release(force=True)``.

Every call is made for the user (:func:`~controlroom.web.calls.on_behalf`): the
device decides. A lease held by someone else, or a role that is not enough
there, comes back as 403 with the device's own message (it names the holder
and the end of their lease); a device that does not answer as 503.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import zmq
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from controlroom.rpc import Proxy, RemoteError, RpcError, curve
from controlroom.rpc.access import ANONYMOUS
from controlroom.rpc.leases import MAX_LEASE_S, MIN_LEASE_S
from controlroom.web.calls import on_behalf
from controlroom.web.context import Context, WebContext
from controlroom.web.leasebook import LeaseBook
from controlroom.web.pages.devicelink import CLIENT, DeviceLinkError, device_light
from controlroom.web.security import Admin, Operator, Viewer
from controlroom.web.sessions import Session

LEASE_TIMEOUT_S = 5.0
LIST_TIMEOUT_S = 2.0  # per device, when the device list asks them all
LIST_WORKERS = 8
# How the server writes a person who came through a delegate key (access.Caller.identity).
_HOLDER = re.compile(r"^(?P<user>.+) via (?P<via>\S+) \(key (?P<key>[^()]+)\)$")

router = APIRouter()


class LeaseRequest(BaseModel):
    seconds: float = Field(ge=MIN_LEASE_S, le=MAX_LEASE_S)


@router.get("/api/device/{name}/lease")
def lease_status(name: str, context: Context, session: Viewer) -> dict[str, Any]:
    """Who holds ``name`` and until when (null: nobody), and whether it is this user."""
    found = _call(context, name, session, "lease_status")
    return leased(name, found, session)


@router.post("/api/device/{name}/lease")
def take(name: str, body: LeaseRequest, context: Context, session: Operator) -> dict[str, Any]:
    """Take the lease of ``name`` for ``seconds``, or renew the user's own."""
    found = _call(context, name, session, "lease", body.seconds)
    found.pop("server", None)
    return leased(name, found, session)


@router.post("/api/device/{name}/lease/release")
def release(name: str, context: Context, session: Operator) -> dict[str, Any]:
    """End the user's own lease of ``name``; ``released`` is false when there was none."""
    released = bool(_call(context, name, session, "release"))
    return {**leased(name, None, session), "released": released}


@router.post("/api/device/{name}/lease/break")
def break_lease(name: str, context: Context, session: Admin) -> dict[str, Any]:
    """End whoever's lease of ``name`` (the device checks the admin role again)."""
    released = bool(_call(context, name, session, "release", force=True))
    return {**leased(name, None, session), "released": released}


def leased(name: str, lease: Mapping[str, Any] | None, session: Session) -> dict[str, Any]:
    """The answer of every lease route: the lease (or None) and whether ``session`` holds it."""
    found = dict(lease) if lease else None
    return {"server": name, "lease": found, "mine": holds(found, session)}


def holds(lease: Mapping[str, Any] | None, session: Session) -> bool:
    """Whether ``lease`` is held by ``session``'s user through this panel's key.

    The device counts the same person through the same key as the holder,
    whichever bridge they came in by, so ``via`` does not matter here either.
    """
    if not lease:
        return False
    found = _HOLDER.match(str(lease.get("holder") or ""))
    return bool(found and found["user"] == session.user and found["key"] == panel_key())


def panel_key() -> str:
    """The name of the key the panel's calls carry (``anonymous`` without CURVE)."""
    security = curve.security_of(zmq.Context.instance())  # the context every Proxy uses
    keyring = security.keyring if security is not None else None
    return keyring.identity if keyring is not None else ANONYMOUS


def device_leases(
    endpoints: Mapping[str, str],
    session: Session,
    book: LeaseBook | None = None,
    timeout: float = LIST_TIMEOUT_S,
) -> dict[str, dict[str, Any] | None]:
    """The lease of each device in ``{name: endpoint}``: from ``book`` where it knows,
    else asked side by side for ``session`` (and kept in the book); None for nobody's and
    for a device that did not answer (the list shows no lease)."""
    known, unknown = book.lookup(endpoints) if book else ({}, dict.fromkeys(endpoints, 0))
    if not unknown:
        return known

    def ask(name: str) -> dict[str, Any] | None:
        try:
            with _proxy(name, endpoints[name], session, timeout) as proxy:
                found = proxy.lease_status()
        except RpcError:
            return None
        lease = dict(found) if isinstance(found, Mapping) else None
        if book is not None:
            book.learn(name, lease, unknown[name])
        return lease

    with ThreadPoolExecutor(min(LIST_WORKERS, len(unknown)), "device-leases") as pool:
        asked = dict(zip(unknown, pool.map(ask, unknown), strict=True))
    return {name: known[name] if name in known else asked[name] for name in endpoints}


def _call(
    context: WebContext, name: str, session: Session, command: str, *args: Any, **kw: Any
) -> Any:
    """``command`` on device ``name`` for ``session``; refusals as HTTP errors (module doc)."""
    try:
        light = device_light(context.hub, name)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    endpoint = str(light.get("commands") or "")
    if not light.get("up") or not endpoint:  # asking would only wait for the timeout
        raise HTTPException(status_code=503, detail=f"{name} is down: its lease is unknown")
    try:
        with _proxy(name, endpoint, session, LEASE_TIMEOUT_S) as proxy:
            return proxy.request(command, args, kw)
    except RemoteError as exc:
        status = 403 if isinstance(exc, PermissionError) else 409
        raise HTTPException(status_code=status, detail=exc.info.message) from None
    except RpcError as exc:
        raise HTTPException(status_code=503, detail=f"{name} did not answer: {exc}") from None


def _proxy(name: str, endpoint: str, session: Session, timeout: float) -> Proxy:
    return Proxy(endpoint, name=name, timeout=timeout, client=CLIENT, on_behalf=on_behalf(session))
