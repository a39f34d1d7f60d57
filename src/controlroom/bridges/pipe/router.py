"""Routing one ``Device|command`` request to that device's control server.

:class:`Router` checks the allow-list, finds the device by name (registry
first, then the Settings' endpoints), converts the words to arguments with
the command's JSON Schema from ``info`` (like ``controlroom call``), and
calls the command through a :class:`~controlroom.rpc.Proxy` on behalf of the
client that sent it (``alice via pipe``), so it is served, checked against
that client's role and journaled under its name by the control server like
any other command.

It is called from many threads at once: each device keeps a few idle
proxies, one per request running at the same time, so a slow command of one
client does not make another client's ``ping`` wait on a proxy's lock. A
proxy serves one request at a time and is told whom it calls for each time
it is taken, so an idle proxy never carries one client's identity into
another's request.
A device that times out is looked up afresh on its next request, so a
server that moved is found again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from controlroom.bridges.pipe.config import PipeConfig
from controlroom.bridges.pipe.errors import RequestRefused
from controlroom.bridges.pipe.protocol import DeviceRequest, err_line, ok_line
from controlroom.device.argtext import SERVICE_PARAMS, parse_arguments
from controlroom.device.errors import ArgumentError
from controlroom.rpc import CallTimeout, Proxy, RemoteError, RpcError
from controlroom.rpc.resolve import RESOLVE_TIMEOUT_S, ServiceNotFound, resolve

log = logging.getLogger(__name__)

CLIENT_NAME = "controlroom-pipe"
Caller = Mapping[str, str]  # {user, role, via}: the client a request is made for
_MIN_STEP_S = 0.05  # the least time a step (lookup, info, call) is given


class _Link:
    """One device: where it is, what its commands take, and idle proxies to it."""

    def __init__(self, name: str, endpoint: str) -> None:
        self.name = name
        self.endpoint = endpoint
        self.params: dict[str, Mapping[str, Any]] | None = None
        self._idle: list[Proxy] = []
        self._lock = threading.Lock()
        self.closed = False

    def take(self) -> Proxy:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Proxy(self.endpoint, name=self.name, client=CLIENT_NAME)

    def give_back(self, proxy: Proxy) -> None:
        with self._lock:
            if not self.closed:
                self._idle.append(proxy)
                return
        proxy.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for proxy in idle:
            proxy.close()


class Router:
    """Answers device requests with reply lines; never raises for a bad request."""

    def __init__(self, config: PipeConfig) -> None:
        self.config = config
        self._links: dict[str, _Link] = {}
        self._lock = threading.Lock()

    def handle(self, request: DeviceRequest, caller: Caller) -> str:
        """The reply line (``OK ...`` or ``ERR ...``) for ``request``, made for ``caller``
        (``{user, role, via}``)."""
        deadline = time.monotonic() + self.config.request_timeout_s
        try:
            self._check_allowed(request)
            return ok_line(self._call(request, caller, deadline))
        except RequestRefused as exc:
            return err_line(str(exc))

    def close(self) -> None:
        with self._lock:
            links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()

    def _check_allowed(self, request: DeviceRequest) -> None:
        allowed = self.config.allow.get(request.device)
        if allowed is None:
            known = ", ".join(sorted(self.config.allow)) or "none"
            raise RequestRefused(f"unknown device {request.device!r} (devices: {known})")
        if request.command not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise RequestRefused(
                f"command {request.command!r} is not allowed for {request.device} "
                f"(allowed: {names})"
            )

    def _call(self, request: DeviceRequest, caller: Caller, deadline: float) -> Any:
        link = self._link(request.device, deadline)
        proxy = link.take()
        proxy.on_behalf = dict(caller)
        try:
            params = self._params(link, proxy, request.command, deadline)
            args, kwargs = parse_arguments(request.command, params, request.words)
            return proxy.request(request.command, args, kwargs, timeout=_left(deadline))
        except ArgumentError as exc:
            raise RequestRefused(f"bad arguments: {exc}") from None
        except RemoteError as exc:
            raise RequestRefused(f"{exc.info.type}: {exc.info.message}") from None
        except CallTimeout:
            self._forget(link)  # it may have moved: look it up again next time
            raise RequestRefused(
                f"timeout: {request.device} did not answer within "
                f"{self.config.request_timeout_s:g} s (is it running?)"
            ) from None
        except RpcError as exc:
            raise RequestRefused(f"{request.device}: {exc}") from None
        finally:
            link.give_back(proxy)

    def _link(self, device: str, deadline: float) -> _Link:
        with self._lock:
            link = self._links.get(device)
        if link is not None:
            return link
        try:
            endpoints = resolve(
                device,
                registry_endpoint=self.config.registry_endpoint,
                fallback=self.config.fallback,
                timeout_s=min(RESOLVE_TIMEOUT_S, _left(deadline)),
            )
        except ServiceNotFound as exc:
            raise RequestRefused(f"device not found: {exc}") from None
        fresh = _Link(device, endpoints["commands"])
        with self._lock:
            link = self._links.setdefault(device, fresh)
        if link is not fresh:  # another thread was quicker
            fresh.close()
        return link

    def _forget(self, link: _Link) -> None:
        with self._lock:
            if self._links.get(link.name) is link:
                del self._links[link.name]
        link.close()

    def _params(
        self, link: _Link, proxy: Proxy, command: str, deadline: float
    ) -> Mapping[str, Any]:
        if link.params is None:
            described = proxy.request("info", timeout=_left(deadline))
            params: dict[str, Mapping[str, Any]] = {
                str(c["name"]): c.get("params") or {} for c in described.get("commands", [])
            }
            for service in described.get("services", []):
                params.setdefault(str(service["name"]), SERVICE_PARAMS.get(service["name"], {}))
            link.params = params
        if command not in link.params:  # allowed, yet not served: a typo in the allow-list?
            raise RequestRefused(
                f"{link.name} has no command {command!r} (check bridges.pipe.allow.{link.name})"
            )
        return link.params[command]


def _left(deadline: float) -> float:
    return max(_MIN_STEP_S, deadline - time.monotonic())
