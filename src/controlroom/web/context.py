"""What every route of the panel can reach: Settings, sessions, the live hub, the dictionary.

Also what logging in needs: the password checker and the failed-login throttle.

The app keeps one :class:`WebContext` in ``app.state.web``; a route gets it
by a parameter ``context: Context`` (or calls ``web_context(request)``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from controlroom.telemetry import TelemetryDictionary
from controlroom.web.config import WebConfig
from controlroom.web.sessions import Passwords, Session, SessionStore
from controlroom.web.throttle import LoginThrottle

if TYPE_CHECKING:
    from controlroom.web.clients import ClientQueue
    from controlroom.web.hub import Hub
    from controlroom.web.live import Live
    from controlroom.web.pages import Page

ActionHandler = Callable[[Session, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class WsAction:
    """A command a page may send over its WebSocket: ``{"type": "command", "action": name}``.

    ``handler(session, message)`` runs in the event loop (use
    ``asyncio.to_thread`` for blocking work); what it returns is the reply's
    ``result``, what it raises its ``error``. ``role`` is the least role allowed.
    """

    role: str
    handler: ActionHandler


@dataclass
class WebContext:
    settings: Mapping[str, Any]
    config: WebConfig
    sessions: SessionStore
    passwords: Passwords
    throttle: LoginThrottle
    live: Live
    dictionary: TelemetryDictionary
    pages: list[Page] = field(default_factory=list)
    actions: dict[str, WsAction] = field(default_factory=dict)
    clients: set[ClientQueue] = field(default_factory=set)

    @property
    def hub(self) -> Hub:
        return self.live.hub


def web_context(connection: HTTPConnection) -> WebContext:
    """The app's :class:`WebContext` (a FastAPI dependency for requests and WebSockets)."""
    context = connection.app.state.web
    assert isinstance(context, WebContext)
    return context


Context = Annotated[WebContext, Depends(web_context)]
"""A route parameter ``context: Context`` is the app's :class:`WebContext`."""
