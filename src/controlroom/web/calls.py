"""Asking a core service (confman, storage, logman) from a route, by name.

Where a service listens: the endpoint its status light has (what discovery
found, the registry included: a service on port 0 is found there), else the
one the Settings give. Each call opens its own connection and closes it, so
routes, which run on a thread pool, never share a socket.

Failures become HTTP errors the page can show as they are: the service
refused (404 for an unknown Setup or observation, 409 otherwise, with the
service's own message), or it did not answer (503).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import HTTPException

from controlroom.rpc import Proxy, RemoteError, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.web.context import WebContext

CALL_TIMEOUT_S = 5.0
CLIENT = "controlroom-web"
CONFMAN = "confman"

Call = Callable[..., Any]


def service_endpoint(context: WebContext, name: str) -> str:
    """The command endpoint of service ``name``; 503 when nobody knows one."""
    light = context.hub.servers().get(name) or {}
    found = str(light.get("commands") or "")
    if found:
        return found
    entry = (context.settings.get("services") or {}).get(name) or {}
    configured = entry.get("commands")
    if isinstance(configured, str) and configured and not configured.endswith((":0", ":*")):
        return connectable(configured)
    raise HTTPException(
        status_code=503,
        detail=f"{name} is not running (no fixed endpoint in the Settings, not registered)",
    )


@contextlib.contextmanager
def connected(context: WebContext, name: str, *, timeout: float | None = None) -> Iterator[Call]:
    """A ``call(command, *args, **kwargs)`` on one connection to service ``name``, for
    routes that ask many questions in a row; blocking (use it from a sync route).

    Each call waits at most ``timeout`` seconds (default :data:`CALL_TIMEOUT_S`)."""
    limit = CALL_TIMEOUT_S if timeout is None else timeout
    proxy = Proxy(service_endpoint(context, name), name=name, timeout=limit, client=CLIENT)

    def call(command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return proxy.request(command, args, kwargs)
        except RemoteError as exc:
            status = 404 if exc.info.type.startswith("Unknown") else 409
            raise HTTPException(status_code=status, detail=f"{name}: {exc.info.message}") from None
        except RpcError as exc:
            raise HTTPException(status_code=503, detail=f"{name} did not answer: {exc}") from None

    try:
        yield call
    finally:
        proxy.close()


def ask(
    context: WebContext,
    name: str,
    command: str,
    *args: Any,
    timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    """``command(*args, **kwargs)`` on service ``name``; blocking (call from a sync route)."""
    with connected(context, name, timeout=timeout) as call:
        return call(command, *args, **kwargs)


def ask_in_context(context: WebContext, command: str, *args: Any) -> tuple[dict[str, Any], Any]:
    """confman's context (``site``, ``setup_id``, ``obsid``) and its answer to ``command``,
    on one connection: a list of Setups or observations is shown with what is current."""
    with connected(context, CONFMAN) as call:
        return call("get_context"), call(command, *args)
