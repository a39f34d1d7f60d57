"""The WebSocket every page opens: ``/ws?topics=prefix,prefix``.

Protocol (JSON text messages):

* server → page: first ``{"type": "snapshot", "seq", "topics": {topic: body},
  "events": [body...]}``, then one ``{"type": "change", "topic", "server",
  "time", "values", "seq"}`` per change of a followed topic (a body is
  ``{topic, server, time, values, seq}``). A page that falls behind gets a new
  snapshot instead of the changes it missed.
* page → server: ``{"type": "subscribe", "topics": [prefix...]}`` follows
  other topics (a new snapshot follows); ``{"type": "command", "id", "action",
  "csrf", ...}`` runs a registered :class:`~.context.WsAction` and is answered
  ``{"type": "reply", "id", "result"}`` or ``{"type": "error", "id", "error"}``.
  Commands need the session's CSRF token in ``csrf`` and the action's role.

The handshake needs a session cookie (or anonymous access) and, when the
browser sends an ``Origin``, this site's own; otherwise it is closed with
code 4401. A session that expires (or logs out) closes the socket with 4401
too, within :data:`~.clients.SESSION_CHECK_S` of the clock saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from controlroom.web.clients import ClientQueue, FrameWriter, LoopInbox, dumps
from controlroom.web.config import role_at_least
from controlroom.web.context import WebContext, web_context
from controlroom.web.security import csrf_matches, websocket_session
from controlroom.web.sessions import Session

UNAUTHORISED = 4401  # the WebSocket spelling of HTTP 401 (4000-4999 are the application's)
CONNECTION = "controlroom.connection"  # the scope key ConnectionNote sets


def parse_topics(text: str | list[Any]) -> list[str]:
    """Topic prefixes from ``"a,b"`` or ``["a", "b"]``."""
    items = text.split(",") if isinstance(text, str) else text
    return [str(item).strip() for item in items if str(item).strip()]


async def live_socket(websocket: WebSocket) -> None:
    """The ``/ws`` endpoint."""
    context = web_context(websocket)
    session = websocket_session(websocket)
    if session is None:
        await websocket.close(code=UNAUTHORISED)
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    client = ClientQueue(
        loop,
        context.config.client_queue,
        session.user,
        inbox=_inbox_of(websocket, loop),
        writer=FrameWriter.of(websocket.scope.get(CONNECTION)),
        session_live=lambda: context.sessions.get(session.token) is not None,
    )
    prefixes = parse_topics(websocket.query_params.get("topics", ""))
    link = _Link(websocket, context, session, client, prefixes)
    context.clients.add(client)
    client.resync()  # the first thing sent is the snapshot
    sender = asyncio.create_task(link.send())
    try:
        await link.receive()
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # the socket is gone anyway
            await sender
        context.hub.detach(client)
        context.clients.discard(client)


class ConnectionNote:
    """ASGI middleware: notes in the scope of a WebSocket the server's connection object.

    That is the object whose method the server passed as ``send`` (uvicorn's
    protocol instance, which has the transport): :class:`~.clients.FrameWriter`
    writes changes to it directly when it recognises it; when it does not (another
    server, the test client) every change goes through ``send`` as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[CONNECTION] = getattr(send, "__self__", None)
        await self.app(scope, receive, send)


def _inbox_of(websocket: WebSocket, loop: asyncio.AbstractEventLoop) -> LoopInbox:
    """The inbox all the app's sockets in ``loop`` share (made by the first of them)."""
    state = websocket.app.state
    inbox = getattr(state, "live_inbox", None)
    if not isinstance(inbox, LoopInbox) or inbox.loop is not loop:
        inbox = state.live_inbox = LoopInbox(loop)
    return inbox


@dataclass
class _Link:
    """One open socket: its session, its queue and the topic prefixes it follows now."""

    websocket: WebSocket
    context: WebContext
    session: Session
    client: ClientQueue
    prefixes: list[str]

    async def send(self) -> None:
        """The socket's writer: replies, snapshots, and the changes newer than the snapshot
        that could not be written as they came (see :mod:`.clients`)."""
        first = True
        loop = asyncio.get_running_loop()
        while True:
            replies, resync, changes = await self.client.take()
            if not self.client.session_valid(loop.time(), ask=bool(replies)):
                await self.websocket.close(code=UNAUTHORISED, reason="session expired")
                return
            for reply in replies:
                await self.websocket.send_text(dumps(reply))
            if resync:
                snapshot = self.context.hub.attach(self.client, self.prefixes)
                self.client.seen = snapshot.seq
                self.client.resyncs += 0 if first else 1
                first = False
                await self.websocket.send_text(dumps(snapshot.to_json()))
            for message in changes:
                if message.seq > self.client.seen:
                    await self.websocket.send_text(message.change_text())
                    self.client.delivered += 1

    async def receive(self) -> None:
        while True:
            text = await self.websocket.receive_text()
            try:
                message = json.loads(text)
                if not isinstance(message, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                self.client.reply({"type": "error", "id": None, "error": f"bad message: {exc}"})
                continue
            kind = message.get("type")
            if kind == "subscribe":
                self.prefixes = parse_topics(message.get("topics") or [])
                self.client.resync()
            elif kind == "command":
                self.client.reply(await _command(self.context, self.session, message))
            else:
                self.client.reply(
                    {"type": "error", "id": message.get("id"), "error": f"unknown type {kind!r}"}
                )


async def _command(
    context: WebContext, session: Session, message: dict[str, Any]
) -> dict[str, Any]:
    ident = message.get("id")
    live = context.sessions.get(session.token)
    if live is None or not csrf_matches(message.get("csrf"), live):
        return {
            "type": "error",
            "id": ident,
            "error": "missing or wrong csrf token: reload the page",
        }
    name = str(message.get("action", ""))
    action = context.actions.get(name)
    if action is None:
        known = ", ".join(sorted(context.actions)) or "none"
        return {"type": "error", "id": ident, "error": f"unknown action {name!r} (known: {known})"}
    if not role_at_least(live.role, action.role):
        return {
            "type": "error",
            "id": ident,
            "error": f"{live.user} has the role {live.role}; {name} needs {action.role}",
        }
    try:
        result = await action.handler(live, message)
    except Exception as exc:  # the page shows the error; the socket keeps serving
        return {"type": "error", "id": ident, "error": f"{type(exc).__name__}: {exc}"}
    return {"type": "reply", "id": ident, "result": result}
