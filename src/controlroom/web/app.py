"""The ASGI app: :func:`create_app` builds it from the Settings; :data:`PAGES` lists the pages.

Everything the app talks to can be injected, so tests run it in process:
``live`` (the hub and its threads), ``discovery`` (which servers to follow),
``dictionary`` (units and limits), ``clock`` (session expiry, login lockouts).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import Response

from controlroom.telemetry import (
    TelemetryDictionary,
    load_dictionary,
    shipped_dictionary,
)
from controlroom.web.config import WebConfig, check_access, check_tls
from controlroom.web.context import Context, WebContext, WsAction
from controlroom.web.discovery import Discovery
from controlroom.web.errors import WebError
from controlroom.web.live import Live
from controlroom.web.pages import (
    Page,
    asset_response,
    camera,
    device,
    hexapod,
    login,
    logs,
    nodes,
    observations,
    overview,
    setups,
    statusfile,
    tasks,
)
from controlroom.web.security import Viewer, guard
from controlroom.web.sessions import Passwords, Session, SessionStore
from controlroom.web.throttle import LoginThrottle
from controlroom.web.ws import ConnectionNote, live_socket

log = logging.getLogger(__name__)

# The pages, in no particular order (the nav bar sorts by Page.order). A new page
# is one module under controlroom.web.pages and one line here.
PAGES: list[Page] = [
    login.page,
    overview.page,
    device.page,
    camera.page,
    hexapod.page,
    nodes.page,
    tasks.page,
    statusfile.page,
    setups.page,
    observations.page,
    logs.page,
]


def create_app(
    settings: Mapping[str, Any],
    *,
    bind_host: str | None = None,
    discovery: Discovery | None = None,
    clock: Callable[[], float] = time.time,
    pages: Sequence[Page] | None = None,
) -> FastAPI:
    """The panel for ``settings``; refuses anonymous access or plain HTTP unless
    ``bind_host`` is loopback.

    ``bind_host`` is where it will listen (default ``web.host``). The checked
    certificate and key, if any, are ``app.state.tls`` (:func:`~.serve.serve`
    serves HTTPS with them). The live hub starts and stops with the app (its lifespan).
    """
    config = WebConfig.from_settings(settings)
    check_access(config, bind_host or config.host)
    tls = check_tls(config, bind_host or config.host)
    if not config.users and not config.allow_anonymous:
        log.warning("web.users is empty and anonymous access is off: nobody can log in")
    chosen = list(PAGES if pages is None else pages)
    context = WebContext(
        settings=settings,
        config=config,
        sessions=SessionStore(
            config.session_ttl_s,
            clock=clock,
            max_sessions=config.max_sessions,
            anonymous_role=config.anonymous_role if config.allow_anonymous else None,
        ),
        passwords=Passwords(config.users),
        throttle=LoginThrottle(
            failures_per_user=config.login_failures_per_user,
            failures_per_address=config.login_failures_per_address,
            first_lockout_s=config.login_lockout_s,
            max_lockout_s=config.login_lockout_max_s,
            clock=clock,
        ),
        live=Live.build(settings, config, discovery=discovery),
        dictionary=_dictionary(settings),
        pages=chosen,
    )
    context.actions["ping"] = WsAction("viewer", _pong)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.live.start()
        try:
            yield
        finally:
            context.live.stop()

    app = FastAPI(title="controlroom", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.web = context
    app.state.tls = tls
    app.middleware("http")(guard)
    app.add_middleware(ConnectionNote)
    app.include_router(_common_routes())
    for page in chosen:
        app.include_router(page.router)
    app.add_api_websocket_route("/ws", live_socket)
    return app


def _common_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        try:
            return asset_response(name)
        except WebError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None

    @router.get("/api/pages")
    def pages(context: Context, _: Viewer) -> list[dict[str, object]]:
        """The pages of the nav bar, in order (a page with ``shown`` only when it says so)."""
        listed = sorted(
            (p for p in context.pages if p.nav and (p.shown is None or p.shown(context))),
            key=lambda p: p.order,
        )
        return [p.describe() for p in listed]

    @router.get("/api/hub")
    def hub(context: Context, _: Viewer) -> dict[str, Any]:
        """The hub's counters and each open WebSocket's delivered/dropped/lag."""
        clients = [client.describe() for client in context.clients]
        return {**context.live.describe(), "clients": clients}

    return router


async def _pong(session: Session, message: dict[str, Any]) -> str:
    return "pong"


def _dictionary(settings: Mapping[str, Any]) -> TelemetryDictionary:
    path = str((settings.get("telemetry") or {}).get("dictionary") or "")
    return load_dictionary(Path(path)) if path else shipped_dictionary()
