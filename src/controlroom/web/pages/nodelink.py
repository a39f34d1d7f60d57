"""What the Nodes page asks of the sensor-node bridge: where it listens, its nodes, a send.

The bridge is a control server named ``nodes`` (see
:mod:`controlroom.bridges.nodes.serve`). Where it listens: the endpoint its
status light has (discovery found it in the registry or through the current
Setup), else the fixed one the Settings give (``bridges.nodes.commands``).
Each request opens its own connection, made for the user the route serves
(:func:`~controlroom.web.calls.on_behalf`), and closes it, so routes (run on
a thread pool) never share a socket nor one user's identity.

Failures become HTTP errors with the bridge's own words: an unknown node is
404, a refused send (node not connected, text with control characters...)
409, a send the bridge's role check refuses 403, a bridge that does not
answer 503.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import HTTPException

from controlroom.bridges.nodes import STREAM_TOPIC
from controlroom.bridges.nodes.serve import NAME
from controlroom.rpc import Proxy, RemoteError, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.web.calls import FORBIDDEN, on_behalf
from controlroom.web.hub import Hub
from controlroom.web.sessions import Session

BRIDGE = NAME  # the bridge's server name: its light, event/nodes, node/<id>/nodes
CALL_TIMEOUT_S = 5.0
CLIENT = "controlroom-web"
DETAILED_AT_MOST = 100  # nodes listed with counts per line kind (one call each)
# The bridge folds node ids to lower case; the page may be given either.
NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")

Call = Callable[..., Any]


def bridge_endpoint(hub: Hub, settings: Mapping[str, Any]) -> str:
    """The bridge's command endpoint; 503 when neither discovery nor the Settings know one."""
    light = hub.servers().get(BRIDGE) or {}
    found = str(light.get("commands") or "")
    if found:
        return found
    entry = (settings.get("bridges") or {}).get(BRIDGE) or {}
    configured = entry.get("commands")
    if isinstance(configured, str) and configured and not configured.endswith((":0", ":*")):
        return connectable(configured)
    raise HTTPException(
        status_code=503,
        detail=f"the node bridge ({BRIDGE!r}) is not running: not registered, "
        "not in the current Setup, and no fixed bridges.nodes.commands in the Settings",
    )


def stream_prefix(node: str) -> str:
    """The hub topic prefix of ``node``'s live lines: ``node/<id>/`` (then the server)."""
    return f"{STREAM_TOPIC}/{node.lower()}/"


def checked_node(node: str) -> str:
    """``node`` as the bridge spells it (lower case); 422 for what cannot be a node id."""
    if not NODE_ID.match(node):
        raise HTTPException(
            status_code=422,
            detail=f"not a node id: {node!r} (1-32 of a-z 0-9 _ . -, starting with a letter "
            "or digit)",
        )
    return node.lower()


@contextlib.contextmanager
def connected(endpoint: str, *, session: Session) -> Iterator[Call]:
    """``call(command, *args, **kwargs)`` on one connection to the bridge, made for
    ``session``'s user (blocking)."""
    proxy = Proxy(
        endpoint,
        name=BRIDGE,
        timeout=CALL_TIMEOUT_S,
        client=CLIENT,
        on_behalf=on_behalf(session),
    )

    def call(command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return proxy.request(command, args, kwargs)
        except RemoteError as exc:
            raise HTTPException(
                status_code=403 if exc.info.type == FORBIDDEN else 409,
                detail=f"node bridge: {exc.info.message}",
            ) from None
        except RpcError as exc:
            raise HTTPException(
                status_code=503, detail=f"the node bridge did not answer: {exc}"
            ) from None

    try:
        yield call
    finally:
        proxy.close()


def listed_nodes(call: Call) -> list[dict[str, Any]]:
    """Every node the bridge has seen, each with its counts per line kind when there are
    at most :data:`DETAILED_AT_MOST` (beyond, the totals only: one call per node is too many)."""
    summaries = [dict(s) for s in call("nodes") if isinstance(s, Mapping)]
    if len(summaries) > DETAILED_AT_MOST:
        return summaries
    detailed = []
    for summary in summaries:
        try:
            detailed.append({**summary, **call("node", str(summary["node"]))})
        except HTTPException as exc:
            if exc.status_code != 409:  # 409: it vanished meanwhile; keep its summary
                raise
            detailed.append(summary)
    return detailed


def known_node(call: Call, node: str) -> dict[str, Any]:
    """The bridge's detail of ``node``; 404 naming the known nodes when it has none."""
    summaries = [s for s in call("nodes") if isinstance(s, Mapping)]
    known = sorted(str(s.get("node")) for s in summaries)
    if node not in known:
        raise HTTPException(
            status_code=404,
            detail=f"no node {node!r} behind the bridge (known: {', '.join(known) or 'none'})",
        )
    found = call("node", node)
    return dict(found) if isinstance(found, Mapping) else {"node": node}
