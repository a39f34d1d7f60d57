"""The device page (``/device/<name>``, and ``/device`` to choose one): live plots of its
housekeeping over a chosen window, every command as a form, its command journal.

JSON API (every route needs a session; sending a command needs the operator role,
and, like every POST, the CSRF header):

* ``GET /api/device`` -- the devices the panel knows, with their status light and
  the lease of each that is up (``lease``: ``{holder, until, ...}`` or null);
* ``GET /api/device/<name>`` -- its origin, its HK parameters from the telemetry
  dictionary, its commands as JSON Schema (from its ``info``, cached), and
  whether this session may command it;
* ``GET /api/device/<name>/history?params=A,B&window_s=300&points=600`` -- what
  the storage manager holds of those parameters for the last ``window_s``,
  thinned to about ``points`` samples each (lowest and highest per stretch);
* ``GET /api/device/<name>/journal?limit=50`` -- its last commands, newest first;
* ``POST /api/device/<name>/command`` ``{"command", "args": {...}, "timeout_s"}`` --
  ``{"ok": true, "result", "duration_s"}``, or ``{"ok": false, "error": {type,
  message, traceback}}`` when the device (or the way to it) failed: the call
  reached the panel, so the answer is 200 and the page shows the error in place.
  A refusal by the device (a lease someone else holds, a role not enough there)
  is 403 with the device's message instead.

The lease routes (``/api/device/<name>/lease``...) are in :mod:`.devicelease`.

Units and limits come from ``/api/overview`` (the same telemetry metadata).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from controlroom.rpc import RpcError
from controlroom.web.calls import on_behalf
from controlroom.web.config import role_at_least
from controlroom.web.context import Context, WebContext
from controlroom.web.discovery import DEVICE
from controlroom.web.pages import Page, html_shell
from controlroom.web.pages.devicelease import device_leases
from controlroom.web.pages.devicelease import router as lease_router
from controlroom.web.pages.devicelink import (
    COMMAND_TIMEOUT_S,
    CommandCatalog,
    DeviceLinkError,
    device_light,
    send_command,
    storage_endpoint,
    stored_history,
    stored_journal,
)
from controlroom.web.security import Operator, Viewer

log = logging.getLogger(__name__)
router = APIRouter()

PARAMETER = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
MAX_PARAMETERS = 20
WEEK_S = 7 * 86400.0
_catalog_lock = threading.Lock()


class CommandRequest(BaseModel):
    command: str = Field(min_length=1, max_length=200)
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(default=COMMAND_TIMEOUT_S, gt=0, le=600)


@router.get("/device", include_in_schema=False)
def choose_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/device/{name}", include_in_schema=False)
def device_page(request: Request, name: str) -> Response:
    return html_shell(request, page)


@router.get("/api/device")
def devices(context: Context, session: Viewer) -> list[dict[str, Any]]:
    """Every device the panel follows: ``[{name, up, since, lease}]`` by name."""
    lights = {n: v for n, v in sorted(context.hub.servers().items()) if v.get("kind") == DEVICE}
    up = {n: str(v["commands"]) for n, v in lights.items() if v.get("up") and v.get("commands")}
    leases = device_leases(up, session, context.live.leases)
    return [
        {
            "name": name,
            "up": bool(light.get("up")),
            "since": light.get("since"),
            "lease": leases.get(name),
        }
        for name, light in lights.items()
    ]


@router.get("/api/device/{name}")
def device_meta(name: str, request: Request, context: Context, session: Viewer) -> dict[str, Any]:
    """What the page needs to draw ``name``: parameters, commands, may this session command."""
    light = _light(context, name)
    commands, why_not = catalog(request).commands(name, light)
    origin = device_origin(context, name)
    return {
        "name": name,
        "up": bool(light.get("up")),
        "origin": origin,
        "parameters": [p.name for p in context.dictionary if p.origin == origin],
        "commands": commands,
        "commands_error": why_not,
        "can_command": role_at_least(session.role, "operator"),
    }


@router.get("/api/device/{name}/history")
def history(
    name: str,
    *,
    context: Context,
    session: Viewer,
    params: Annotated[str, Query(max_length=2000)] = "",
    window_s: Annotated[float, Query(gt=0, le=WEEK_S)] = 300.0,
    points: Annotated[int, Query(ge=10, le=5000)] = 600,
) -> dict[str, Any]:
    """Stored values of ``params`` (canonical names) over the last ``window_s`` seconds."""
    _light(context, name)
    names = [p.strip() for p in params.split(",") if p.strip()]
    bad = [p for p in names if not PARAMETER.match(p)]
    if bad or not names or len(names) > MAX_PARAMETERS:
        why = f"not a parameter name: {bad[0]!r}" if bad else f"give 1 to {MAX_PARAMETERS}"
        raise HTTPException(status_code=422, detail=f"params: {why} (comma-separated names)")
    until = time.time()
    origin = device_origin(context, name)
    try:
        found = stored_history(
            _storage(context), origin, names, until - window_s, points, caller=on_behalf(session)
        )
    except RpcError as exc:
        raise HTTPException(status_code=503, detail=f"storage manager: {exc}") from None
    return {"origin": origin, "since": until - window_s, "until": until, **found}


@router.get("/api/device/{name}/journal")
def journal(
    name: str,
    context: Context,
    session: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """The last ``limit`` commands ``name`` ran, newest first, from the storage manager."""
    _light(context, name)
    try:
        entries = stored_journal(_storage(context), name, limit, caller=on_behalf(session))
        return {"entries": entries}
    except RpcError as exc:
        raise HTTPException(status_code=503, detail=f"storage manager: {exc}") from None


@router.post("/api/device/{name}/command")
def command(
    name: str, body: CommandRequest, request: Request, context: Context, session: Operator
) -> dict[str, Any]:
    """Send one of the device's commands (see the module doc for the answer)."""
    light = _light(context, name)
    try:
        catalog(request).command(name, light, body.command)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    endpoint = str(light.get("commands") or "")
    if not endpoint:
        raise HTTPException(status_code=503, detail=f"{name} has no known endpoint")
    log.info("web panel: %s sends %s.%s %s", session.user, name, body.command, body.args)
    outcome = send_command(
        name, endpoint, body.command, body.args, body.timeout_s, caller=on_behalf(session)
    )
    if not outcome["ok"]:
        error = outcome["error"]
        log.info("web panel: %s.%s failed: %s", name, body.command, error["message"])
        if error.get("refused"):  # the device's own check: a lease, a role there
            raise HTTPException(status_code=403, detail=error["message"])
    return outcome


def catalog(request: Request) -> CommandCatalog:
    """The app's cache of device commands (made on first use)."""
    state = request.app.state
    with _catalog_lock:
        found = getattr(state, "device_catalog", None)
        if not isinstance(found, CommandCatalog):
            found = state.device_catalog = CommandCatalog()
    return found


def device_origin(context: WebContext, name: str) -> str:
    """Where its HK is stored: the device entry's ``origin`` in the Settings, else NAME."""
    entry = (context.settings.get("devices") or {}).get(name) or {}
    return str(entry.get("origin") or name.upper())


def _light(context: WebContext, name: str) -> dict[str, Any]:
    try:
        return device_light(context.hub, name)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None


def _storage(context: WebContext) -> str:
    try:
        return storage_endpoint(context.hub, context.settings)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None


router.include_router(lease_router)
page = Page("device", "Devices", "/device", router, order=10, styles=("widgets.css", "device.css"))
