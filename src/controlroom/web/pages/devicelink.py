"""What the device page asks of the facility: where a device listens, its commands, a call,
its stored housekeeping (thinned out for a plot) and its command journal.

Endpoints come from the status lights (``server/<name>`` in the hub: the
watcher's discovery already merged the Settings, the Setup and the registry),
so a device on an OS-chosen port is found like any other. Each command is
sent through a fresh :class:`~controlroom.rpc.Proxy` with its own timeout: a
slow command never holds up another one, and a reply that comes too late is
dropped with its proxy. Only the device's own commands are offered; the
service commands every server answers (``quit``, ``set_rates``,
``register_listener``...) are not.

A command, and what a user reads from the storage manager, is sent for that
user (``caller``: see :func:`controlroom.web.calls.on_behalf`), so the
device checks their role and journals their name. The command list comes
from the panel's own ``info`` call, cached for every user.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlroom.rpc import Proxy, RemoteError, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.errors import ServerUnavailable
from controlroom.rpc.service import SERVICE_DOCS
from controlroom.services.storage.client import StorageClient
from controlroom.web.discovery import ASK_TIMEOUT_S, DEVICE
from controlroom.web.errors import WebError
from controlroom.web.hub import Hub
from controlroom.wire import WireError

COMMAND_TIMEOUT_S = 30.0
# How long a command waits for the server's welcome: the discovery's own ping time, so a
# server that is down fails the command at once with a sentence, not after 30 s.
CONNECT_TIMEOUT_S = ASK_TIMEOUT_S
INFO_TIMEOUT_S = 3.0
STORAGE_TIMEOUT_S = 5.0
INFO_TTL_S = 60.0
NOT_OFFERED = frozenset(SERVICE_DOCS)  # quit, set_rates, register_listener, ...
CLIENT = "controlroom-web"


class DeviceLinkError(WebError):
    """A request about a device the panel cannot serve; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def device_light(hub: Hub, name: str) -> dict[str, Any]:
    """The status light of device ``name`` (404 when the panel knows no such device)."""
    lights = hub.servers()
    light = lights.get(name)
    if light is None or light.get("kind") != DEVICE:
        known = ", ".join(sorted(n for n, v in lights.items() if v.get("kind") == DEVICE))
        raise DeviceLinkError(f"no device {name!r} (devices: {known or 'none'})", status=404)
    return light


def storage_endpoint(hub: Hub, settings: Mapping[str, Any]) -> str:
    """The storage manager's command endpoint: its light, else the Settings; 503 when neither."""
    found = (hub.servers().get("storage") or {}).get("commands")
    if not found:
        entry = (settings.get("services") or {}).get("storage") or {}
        given = entry.get("commands")
        found = connectable(given) if isinstance(given, str) else ""
    if not found or found.endswith((":0", ":*")):
        raise DeviceLinkError("the storage manager is not configured or not found", status=503)
    return str(found)


@dataclass
class _Known:
    key: tuple[str, object]  # (endpoint, light's since): a restarted server is asked again
    fetched: float
    commands: list[dict[str, Any]] = field(default_factory=list)


class CommandCatalog:
    """Each device's commands as JSON Schema, from its ``info``, kept ``ttl_s`` seconds."""

    def __init__(
        self, ttl_s: float = INFO_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s, self._clock = ttl_s, clock
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def commands(self, name: str, light: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """``(commands, why_not)``: a stale list with the reason when the device cannot answer."""
        key = (str(light.get("commands") or ""), light.get("since"))
        with self._lock:
            known = self._known.get(name)
        if known and known.key == key and self._clock() - known.fetched < self.ttl_s:
            return known.commands, ""
        if not light.get("up"):  # asking would only wait for the timeout
            why = f"{name} is down" + (f": {light['error']}" if light.get("error") else "")
            return (known.commands if known else []), why
        try:
            commands = fetch_commands(name, key[0])
        except (RpcError, WebError) as exc:
            return (known.commands if known else []), f"cannot list its commands: {exc}"
        with self._lock:
            self._known[name] = _Known(key, self._clock(), commands)
        return commands, ""

    def command(self, name: str, light: Mapping[str, Any], command: str) -> dict[str, Any]:
        """The schema of ``command``; 400 for what the panel does not offer, 404 for unknown."""
        if command in NOT_OFFERED:
            raise DeviceLinkError(
                f"{command!r} is a service command of every server; the panel does not send it",
                status=400,
            )
        commands, why_not = self.commands(name, light)
        for schema in commands:
            if schema.get("name") == command:
                return schema
        listed = ", ".join(str(c.get("name")) for c in commands) or "none"
        reason = f" ({why_not})" if why_not else ""
        raise DeviceLinkError(
            f"{name} has no command {command!r}{reason}; it has {listed}", status=404
        )


def fetch_commands(name: str, endpoint: str) -> list[dict[str, Any]]:
    """The device's own commands from its ``info`` (service commands left out)."""
    if not endpoint:
        raise DeviceLinkError(f"{name} has no known endpoint", status=503)
    with Proxy(endpoint, name=name, timeout=INFO_TIMEOUT_S, client=CLIENT) as proxy:
        described = proxy.info().get("commands") or []
    return [
        dict(c)
        for c in described
        if isinstance(c, Mapping) and c.get("name") and c.get("name") not in NOT_OFFERED
    ]


Caller = Mapping[str, str]  # {user, role, via}: who a call is made for


def send_command(
    name: str,
    endpoint: str,
    command: str,
    args: Mapping[str, Any],
    timeout_s: float,
    *,
    caller: Caller,
) -> dict[str, Any]:
    """``{ok: true, result, duration_s}`` or ``{ok: false, error: {type, message, traceback}}``.

    The control server checks ``caller``'s role, its lease and the arguments
    against the command's signature; its refusal (``Forbidden``, ``LeaseHeld``,
    ``ArgumentError``) comes back like any remote error, a refusal of the
    caller (a ``PermissionError``) with ``error.refused`` true.
    """
    started = time.monotonic()
    try:
        with Proxy(
            endpoint,
            name=name,
            timeout=timeout_s,
            client=CLIENT,
            on_behalf=caller,
            connect_timeout=CONNECT_TIMEOUT_S,
        ) as proxy:
            result = proxy.request(command, (), dict(args), timeout=timeout_s)
    except RemoteError as exc:
        info = exc.info
        error: dict[str, Any] = {
            "type": info.type,
            "message": info.message,
            "traceback": info.traceback,
        }
        if isinstance(exc, PermissionError):  # Forbidden, LeaseHeld: nothing ran
            error["refused"] = True
        return {"ok": False, "error": error, "duration_s": time.monotonic() - started}
    except (RpcError, WireError) as exc:  # down, timeout, unencodable: seen here
        message = str(exc)
        if isinstance(exc, ServerUnavailable):
            message = f"{name} is down or unreachable: no answer within {CONNECT_TIMEOUT_S:g} s"
        error = {"type": type(exc).__name__, "message": message, "traceback": ""}
        return {"ok": False, "error": error, "duration_s": time.monotonic() - started}
    return {"ok": True, "result": jsonable(result), "duration_s": time.monotonic() - started}


def jsonable(value: Any) -> Any:
    """``value`` as strict JSON data; what JSON cannot hold (bytes, NaN...) as its text."""
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=_text))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _text(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return list(value) if isinstance(value, set | frozenset) else repr(value)


def storage_client(endpoint: str, caller: Caller) -> StorageClient:
    """A client of the storage manager whose calls are made for ``caller``."""
    client = StorageClient(endpoint, timeout=STORAGE_TIMEOUT_S)
    client.proxy.on_behalf = dict(caller)  # this client is the route's alone
    return client


def stored_history(
    endpoint: str,
    origin: str,
    names: Sequence[str],
    since: float,
    points: int,
    *,
    caller: Caller,
) -> dict[str, Any]:
    """``{series: {name: {unit, times, values}}, errors: {name: why}}`` since ``since``."""
    series: dict[str, Any] = {}
    errors: dict[str, str] = {}
    with storage_client(endpoint, caller) as client:
        for name in names:
            try:
                found = client.get_housekeeping(name, since, origin=origin)
            except RemoteError as exc:  # not stored (yet): the others still plot
                errors[name] = exc.info.message
                continue
            times, values = decimate(found["times"], found["values"], points)
            series[name] = {"unit": found.get("unit"), "times": times, "values": values}
    return {"series": series, "errors": errors}


def stored_journal(
    endpoint: str, server: str, limit: int, *, caller: Caller
) -> list[dict[str, Any]]:
    """The last ``limit`` commands of ``server``, newest first."""
    with storage_client(endpoint, caller) as client:
        entries = client.journal(server=server, limit=limit)
    return [jsonable(entry) for entry in reversed(entries)]


def decimate(
    times: Sequence[float], values: Sequence[Any], points: int
) -> tuple[list[float], list[Any]]:
    """At most about ``points`` samples: the lowest and the highest of each stretch, in order.

    Keeping both extremes (not every n-th sample) keeps a short spike visible
    in a day-long plot.
    """
    count = len(times)
    if count <= points:
        return list(times), list(values)
    stretches = max(1, points // 2)
    out_t: list[float] = []
    out_v: list[Any] = []
    for k in range(stretches):
        lo, hi = (k * count) // stretches, ((k + 1) * count) // stretches
        numbers = [i for i in range(lo, hi) if _is_number(values[i])]
        if not numbers:
            chosen = [lo] if lo < hi else []
        else:
            low = min(numbers, key=values.__getitem__)
            high = max(numbers, key=values.__getitem__)
            chosen = sorted({low, high})
        for i in chosen:
            out_t.append(times[i])
            out_v.append(values[i])
    return out_t, out_v


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
