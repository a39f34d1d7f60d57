"""Asking a core service (confman, storage, logman) from a route, by name.

Where a service listens: the endpoint its status light has (what discovery
found, the registry included: a service on port 0 is found there), else the
one the Settings give. Each call opens its own connection and closes it, so
routes, which run on a thread pool, never share a socket.

Every call a route makes for a user carries that user (:func:`on_behalf`):
their name and panel role, ``via`` web. The service believes it from the
panel's delegate key (or on loopback without CURVE), caps the role at the
key's own, checks it and journals ``alice via web (key lab)``: the panel's
own role check is the first one, the server's the one that counts. Calls
the panel makes for itself (discovery, pings, the command lists it caches
for everybody) name nobody.

Failures become HTTP errors the page can show as they are: the service
refused (404 for an unknown Setup or observation, 403 when the caller's role
is not enough, 409 otherwise, with the service's own message), or it did not
answer (503).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import HTTPException

from controlroom.rpc import Proxy, RemoteError, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.web.context import WebContext
from controlroom.web.sessions import Session

CALL_TIMEOUT_S = 5.0
CLIENT = "controlroom-web"
CONFMAN = "confman"
VIA = "web"
FORBIDDEN = "Forbidden"  # the remote type of a refusal by the server's role check

Call = Callable[..., Any]


def on_behalf(session: Session) -> dict[str, str]:
    """The identity a call for ``session`` carries: its user and panel role, via web."""
    return {"user": session.user, "role": session.role, "via": VIA}


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
def connected(
    context: WebContext, name: str, *, session: Session, timeout: float | None = None
) -> Iterator[Call]:
    """A ``call(command, *args, **kwargs)`` on one connection to service ``name``, made for
    ``session``'s user, for routes that ask many questions in a row; blocking (use it
    from a sync route).

    Each call waits at most ``timeout`` seconds (default :data:`CALL_TIMEOUT_S`)."""
    limit = CALL_TIMEOUT_S if timeout is None else timeout
    proxy = Proxy(
        service_endpoint(context, name),
        name=name,
        timeout=limit,
        client=CLIENT,
        on_behalf=on_behalf(session),
    )

    def call(command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return proxy.request(command, args, kwargs)
        except RemoteError as exc:
            raise HTTPException(
                status_code=refused_status(exc), detail=f"{name}: {exc.info.message}"
            ) from None
        except RpcError as exc:
            raise HTTPException(status_code=503, detail=f"{name} did not answer: {exc}") from None

    try:
        yield call
    finally:
        proxy.close()


def refused_status(exc: RemoteError) -> int:
    """The HTTP status of a service's refusal: 404 unknown, 403 forbidden, else 409."""
    if exc.info.type == FORBIDDEN:  # the server's role check refused the user
        return 403
    return 404 if exc.info.type.startswith("Unknown") else 409


def ask(
    context: WebContext,
    name: str,
    command: str,
    *args: Any,
    session: Session,
    timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    """``command(*args, **kwargs)`` on service ``name`` for ``session``'s user; blocking
    (call from a sync route)."""
    with connected(context, name, session=session, timeout=timeout) as call:
        return call(command, *args, **kwargs)


def ask_in_context(
    context: WebContext, command: str, *args: Any, session: Session
) -> tuple[dict[str, Any], Any]:
    """confman's context (``site``, ``setup_id``, ``obsid``) and its answer to ``command``,
    on one connection: a list of Setups or observations is shown with what is current."""
    with connected(context, CONFMAN, session=session) as call:
        return call("get_context"), call(command, *args)
