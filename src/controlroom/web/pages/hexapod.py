"""The hexapod page (``/hexapod``, ``?device=NAME`` for another hexapod than ``hexapod``): the
object's six positions in the user frame, the actuator lengths and the state flags, live, with
buttons for homing, the control loop, clearing an error, a move, and a Stop.

It is in the nav bar while the panel follows a device named ``hexapod`` (the
current Setup names it, or it registered). Live values come over the page's
WebSocket (``status/<device>``: what the hexapod's control server publishes,
its ``status()``; ``server/<device>``: its light). ``GET /api/hexapod?device=hexapod``
gives the device, whether it is up, the axes and their units, the move modes
and whether this session may command it.

Every button sends through ``POST /api/device/<device>/command``, the route
every device command of the panel takes (:mod:`.device`): the operator role,
the device's own role and lease checks, the caller in the journal. Moves are
sent without waiting, so the page stays live and Stop is always at hand; the
control server runs a stop at once, even beside a command in progress.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from controlroom.devices.hexapod import AXES
from controlroom.web.config import role_at_least
from controlroom.web.context import Context, WebContext
from controlroom.web.discovery import DEVICE
from controlroom.web.pages import Page, html_shell
from controlroom.web.pages.devicelink import DeviceLinkError, device_light
from controlroom.web.security import Viewer

router = APIRouter()

HEXAPOD = "hexapod"
DEVICE_NAME = r"^[A-Za-z0-9_.:@-]{1,100}$"
DeviceParam = Annotated[str, Query(pattern=DEVICE_NAME)]
UNITS = {"x": "mm", "y": "mm", "z": "mm", "rx": "deg", "ry": "deg", "rz": "deg"}
MOVES = {
    "absolute": "move_absolute",
    "relative to the user frame": "move_relative_user",
    "relative to the object frame": "move_relative_object",
}
"""How the page's move form reads its six values -> the command it sends."""


@router.get("/hexapod", include_in_schema=False)
def hexapod_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/hexapod")
def hexapod_meta(
    context: Context, session: Viewer, device: DeviceParam = HEXAPOD
) -> dict[str, Any]:
    """What the page needs besides the live status: the axes, the moves, the session's rights."""
    try:
        light = device_light(context.hub, device)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
    return {
        "device": device,
        "up": bool(light.get("up")),
        "axes": [{"name": axis, "unit": UNITS[axis]} for axis in AXES],
        "actuators": 6,
        "moves": MOVES,
        "can_command": role_at_least(session.role, "operator"),
    }


def hexapod_known(context: WebContext) -> bool:
    """Whether the panel follows a device named ``hexapod`` (from the current Setup or the
    registry): a Settings entry alone is no hexapod in use."""
    light = context.hub.servers().get(HEXAPOD) or {}
    return light.get("kind") == DEVICE


page = Page(
    "hexapod",
    "Hexapod",
    "/hexapod",
    router,
    order=13,
    styles=("device.css", "hexapod.css"),
    shown=hexapod_known,
)
