"""The camera page (``/camera``, ``?device=NAME`` for another DPU than ``dpu``): the latest
image of a chosen CCD side, the DPU's mode, frame counter, ``num_cycles``, error flags,
processor and writer health, and buttons for the common commands.

It is in the nav bar while the panel follows a device named ``dpu`` (it has its
status light: the current Setup names it, or it registered). Live values come over
the page's WebSocket (``status/<device>``: what the DPU control server publishes,
its ``status()``; ``server/<device>``: its light). JSON API (every route needs a session):

* ``GET /api/camera?device=dpu`` -- the device, whether it is up, the modes,
  CCDs and sides, and whether this session may command it;
* ``GET /api/camera/image.png?device=dpu&ccd=1&side=E&max_size=512&stretch=percentile``
  -- the latest stored image of that side as a PNG (:mod:`controlroom.devices.camera.preview`),
  asked of the DPU (``latest_image``) for the logged-in user; headers
  ``X-Frame-Counter``, ``X-Binning``, ``X-Pixel-Range`` say what it shows.
  404 when no image of that side is stored yet, 403 when the DPU refused the
  user, 503 when it did not answer.

The buttons send through ``POST /api/device/<device>/command``, the route
every device command of the panel takes (:mod:`.device`): the operator role,
the device's own role and lease checks, the caller in the journal.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.preview import STRETCHES, PreviewError, image_png
from controlroom.rpc import Proxy, RemoteError, RpcError
from controlroom.web.calls import on_behalf, refused_status
from controlroom.web.config import role_at_least
from controlroom.web.context import Context, WebContext
from controlroom.web.discovery import DEVICE
from controlroom.web.pages import Page, html_shell
from controlroom.web.pages.devicelink import CLIENT, DeviceLinkError, device_light
from controlroom.web.security import Viewer
from controlroom.web.sessions import Session

log = logging.getLogger(__name__)
router = APIRouter()

DPU = "dpu"
IMAGE_TIMEOUT_S = 10.0  # reading and binning a full frame side takes well under a second
NO_IMAGE = "NoImage"  # the DPU's error type when no stored frame holds the side asked for
DEVICE_NAME = r"^[A-Za-z0-9_.:@-]{1,100}$"
DeviceParam = Annotated[str, Query(pattern=DEVICE_NAME)]


@router.get("/camera", include_in_schema=False)
def camera_page(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/camera")
def camera_meta(context: Context, session: Viewer, device: DeviceParam = DPU) -> dict[str, Any]:
    """What the page needs besides the live status: the choices and the session's rights."""
    light = _light(context, device)
    return {
        "device": device,
        "up": bool(light.get("up")),
        "modes": [mode.name for mode in FeeMode],
        "ccds": [1, 2, 3, 4],
        "sides": ["E", "F"],
        "stretches": list(STRETCHES),
        "can_command": role_at_least(session.role, "operator"),
    }


@router.get("/api/camera/image.png")
def camera_image(
    context: Context,
    session: Viewer,
    *,
    device: DeviceParam = DPU,
    ccd: Annotated[int, Query(ge=1, le=4)] = 1,
    side: Annotated[str, Query(pattern="^[EF]$")] = "E",
    max_size: Annotated[int, Query(ge=16, le=2048)] = 512,
    stretch: Annotated[str, Query(pattern="^(percentile|minmax)$")] = "percentile",
) -> Response:
    """The latest image of ``ccd`` side ``side`` as a PNG (see the module doc)."""
    light = _light(context, device)
    endpoint = str(light.get("commands") or "")
    if not light.get("up") or not endpoint:
        raise HTTPException(status_code=503, detail=f"{device} is down")
    found = ask_device(device, endpoint, session, "latest_image", ccd, side, max_size=max_size)
    try:
        png = image_png(found, stretch=stretch)
    except PreviewError as exc:
        detail = f"{device} sent an unusable image: {exc}"
        raise HTTPException(status_code=502, detail=detail) from None
    return Response(
        png,
        media_type="image/png",
        headers={
            "X-Frame-Counter": str(found.get("frame_counter")),
            "X-Binning": str(found.get("binning")),
            "X-Pixel-Range": f"{found.get('min')}..{found.get('max')}",
        },
    )


def ask_device(
    device: str, endpoint: str, session: Session, command: str, *args: Any, **kwargs: Any
) -> Any:
    """``command`` on ``device`` for ``session``'s user; its refusal or silence as HTTP errors."""
    started = time.monotonic()
    try:
        with Proxy(
            endpoint, name=device, timeout=IMAGE_TIMEOUT_S, client=CLIENT,
            on_behalf=on_behalf(session),
        ) as proxy:  # fmt: skip
            return proxy.request(command, args, kwargs)
    except RemoteError as exc:
        status = 404 if exc.info.type == NO_IMAGE else refused_status(exc)
        if isinstance(exc, PermissionError):
            status = 403
        raise HTTPException(status_code=status, detail=f"{device}: {exc.info.message}") from None
    except RpcError as exc:
        waited = time.monotonic() - started
        log.info("camera page: %s.%s failed after %.1f s: %s", device, command, waited, exc)
        raise HTTPException(status_code=503, detail=f"{device} did not answer: {exc}") from None


def dpu_known(context: WebContext) -> bool:
    """Whether the panel follows a device named ``dpu`` (from the current Setup or the
    registry): a Settings entry alone is no camera in use."""
    light = context.hub.servers().get(DPU) or {}
    return light.get("kind") == DEVICE


def _light(context: WebContext, device: str) -> dict[str, Any]:
    try:
        return device_light(context.hub, device)
    except DeviceLinkError as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None


page = Page(
    "camera",
    "Camera",
    "/camera",
    router,
    order=12,
    styles=("device.css", "camera.css"),
    shown=dpu_known,
)
