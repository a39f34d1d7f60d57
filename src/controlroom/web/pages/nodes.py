"""The Nodes page (``/nodes``): the sensor nodes behind the node bridge, and a terminal per node.

``/nodes`` lists every node the bridge has seen (type, connected, last
heartbeat, lines per kind, malformed lines), polled and refreshed on the
bridge's ``node_connected``/``node_disconnected``/``node_silent`` events;
``/nodes?node=<id>`` adds a terminal: the node's live lines (the hub topic
prefix ``node/<id>/``, published by the bridge a few times a second), what it
sent and what it was sent told apart, and a line to send it.

JSON API (every route needs a session; sending needs the operator role and,
like every POST, the CSRF header):

* ``GET /api/nodes`` -- ``{bridge: {name, commands}, nodes: [...],
  can_send}``: one row per node, the bridge's ``nodes()`` summary with its
  ``node()`` detail (``lines_by_kind``, ``last_heartbeat``, ``sent``...);
* ``GET /api/nodes/<id>`` -- ``{node: detail, topic, can_send}``: the detail and
  the topic prefix of its live lines; 404 for a node the bridge has not seen;
* ``POST /api/nodes/<id>/send`` ``{"text"}`` -- the bridge's ``send(node, text)``:
  ``{node, text, bytes}``; 404 unknown node, 409 refused by the bridge (not
  connected, control characters, too long), 503 bridge not answering.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from controlroom.web.config import role_at_least
from controlroom.web.context import Context
from controlroom.web.pages import Page, html_shell
from controlroom.web.pages.nodelink import (
    BRIDGE,
    bridge_endpoint,
    checked_node,
    connected,
    known_node,
    listed_nodes,
    stream_prefix,
)
from controlroom.web.security import Operator, Viewer

log = logging.getLogger(__name__)
router = APIRouter()

MAX_TEXT = 4096  # the bridge has its own, smaller limit (bridges.nodes.max_line_bytes)


class SendRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


@router.get("/nodes", include_in_schema=False)
def shell(request: Request) -> Response:
    return html_shell(request, page)


@router.get("/api/nodes")
def nodes(context: Context, session: Viewer) -> dict[str, Any]:
    """The bridge's light and every node it has seen (503 when the bridge is not found)."""
    endpoint = bridge_endpoint(context.hub, context.settings)
    with connected(endpoint, session=session) as call:
        listed = listed_nodes(call)
    return {
        "bridge": {"name": BRIDGE, "commands": endpoint},
        "nodes": listed,
        "can_send": role_at_least(session.role, "operator"),
    }


@router.get("/api/nodes/{node}")
def node(node: str, context: Context, session: Viewer) -> dict[str, Any]:
    """One node in full, and the topic prefix its terminal follows."""
    name = checked_node(node)
    with connected(bridge_endpoint(context.hub, context.settings), session=session) as call:
        detail = known_node(call, name)
    return {
        "node": detail,
        "topic": stream_prefix(name),
        "can_send": role_at_least(session.role, "operator"),
    }


@router.post("/api/nodes/{node}/send")
def send(node: str, body: SendRequest, context: Context, session: Operator) -> dict[str, Any]:
    """Send one line to the node through the bridge (see the module doc for the answers)."""
    name = checked_node(node)
    with connected(bridge_endpoint(context.hub, context.settings), session=session) as call:
        known_node(call, name)
        log.info("web panel: %s sends node %s %r", session.user, name, body.text)
        sent = call("send", name, body.text)
    return dict(sent) if isinstance(sent, dict) else {"node": name, "result": sent}


page = Page("nodes", "Nodes", "/nodes", router, order=20, styles=("records.css", "nodes.css"))
