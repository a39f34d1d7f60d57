"""Commands from MQTT: ``<prefix>/<site>/set/<user>/<server>/<command>`` -> the control server.

``<user>`` is the broker user that published (the broker's ACL lets each
user publish under its own name only, see :mod:`.topics`), and
``bridges.mqtt.users`` gives each such user a role. The command runs on
behalf of that user (``ops via mqtt (key lab)``): the control server checks
it against the user's role and journals the user's name. Only a command the
allow-list names for that server is called; the payload gives its arguments
(see :func:`~.payloads.parse_arguments`); the answer, ``{"ok": true, "value":
...}`` or ``{"ok": false, "error": ...}``, goes to
``result/<user>/<server>/<command>`` (QoS 1, not retained). The command runs
on the control server like any other -- checked, run one at a time,
journaled -- through a :class:`~controlroom.rpc.Proxy` of that user's, on a
small pool of worker threads so a slow command never holds up the MQTT
network thread.

Refused without calling anything: a broker user ``users`` does not list, a
server or command not allowed, a retained request (it would run again at
every reconnection), a payload too large or malformed, more than
``commands_per_s`` (with a burst of ``command_burst``), more than
:data:`MAX_PENDING` waiting. Every request gets exactly one result,
refused ones included: a client waiting on its ``/result`` must learn that
its request was not run. A flood costs one small result per request, never
more; only the log is spared, with one line per run of rate refusals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from controlroom.bridges.mqtt.config import MqttConfig
from controlroom.bridges.mqtt.errors import PayloadError
from controlroom.bridges.mqtt.payloads import Arguments, parse_arguments, result_payload
from controlroom.bridges.mqtt.topics import Request
from controlroom.rpc import CallTimeout, Proxy, RemoteError, RpcError

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]
WORKERS = 4
MAX_PENDING = 16
CLIENT_NAME = "controlroom-mqtt"
VIA = "mqtt"


class TokenBucket:
    """``rate`` per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._tokens, self._last = float(burst), clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class CommandDesk:
    """Takes command requests (from the MQTT network thread) and answers each one."""

    def __init__(
        self,
        config: MqttConfig,
        publish: Publish,
        endpoint_of: Callable[[str], str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.topics = config.topics
        self.accepted = self.refused = self.rate_limited = 0
        self._publish = publish
        self._endpoint_of = endpoint_of
        mqtt = config.mqtt
        self._bucket = TokenBucket(mqtt.commands_per_s, mqtt.command_burst, clock)
        self._refused_in_run = 0  # rate refusals since the last request let through
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="mqtt-command")
        # One proxy per (endpoint, user): a proxy calls for one user only, so a cached one
        # never carries one user's identity into another's request.
        self._proxies: dict[tuple[str, str], Proxy] = {}
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """One message on a command topic; never raises."""
        request = self.topics.parse_set(topic)
        if request is None:
            return
        if not self._bucket.take():
            self._refuse_for_rate(request)
            return
        self._end_rate_run()
        try:
            role, arguments = self._check(request, payload, retained)
        except PayloadError as exc:
            self._answer(request, error=str(exc))
            return
        if not self._pending.acquire(blocking=False):
            self._answer(request, error=f"busy: {MAX_PENDING} commands are waiting")
            return
        self.accepted += 1
        self._pool.submit(self._run, request, role, arguments)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
        for proxy in proxies:
            proxy.close()

    def _check(self, request: Request, payload: bytes, retained: bool) -> tuple[str, Arguments]:
        """The user's role and the request's arguments; PayloadError if it may not run."""
        role = self.config.role_of(request.user)
        if role is None:
            raise PayloadError(
                f"broker user {request.user!r} may not command: it is not in bridges.mqtt.users"
            )
        allowed = self.config.allowed(request.server)
        if request.command not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise PayloadError(
                f"command {request.command!r} is not allowed for {request.server} "
                f"(allowed: {names}; see bridges.mqtt.allow)"
            )
        if retained:
            raise PayloadError("a retained command is ignored: publish it without the retain flag")
        return role, parse_arguments(payload, self.config.mqtt.max_payload_bytes)

    def _run(self, request: Request, role: str, arguments: Arguments) -> None:
        try:
            value = self._call(request, role, arguments)
        except PayloadError as exc:
            self._answer(request, error=str(exc))
        except Exception as exc:  # the worker must answer whatever happened
            log.exception("MQTT command %s.%s failed", request.server, request.command)
            self._answer(request, error=f"{type(exc).__name__}: {exc}")
        else:
            self._answer(request, value=value)
        finally:
            self._pending.release()

    def _call(self, request: Request, role: str, arguments: Arguments) -> Any:
        args, kwargs = arguments
        timeout = self.config.mqtt.command_timeout_s
        server = request.server
        try:
            proxy = self._proxy(request, role)
            return proxy.request(request.command, args, kwargs, timeout=timeout)
        except RemoteError as exc:
            raise PayloadError(f"{exc.info.type}: {exc.info.message}") from None
        except CallTimeout:
            raise PayloadError(f"timeout: {server} did not answer within {timeout:g} s") from None
        except RpcError as exc:
            raise PayloadError(f"{server}: {exc}") from None

    def _proxy(self, request: Request, role: str) -> Proxy:
        endpoint = self._endpoint_of(request.server)
        if not endpoint:
            raise PayloadError(f"{request.server} not found: not registered and not a core service")
        key = (endpoint, request.user)
        with self._lock:
            proxy = self._proxies.get(key)
            if proxy is None:
                caller = {"user": request.user, "role": role, "via": VIA}
                proxy = Proxy(endpoint, name=request.server, client=CLIENT_NAME, on_behalf=caller)
                self._proxies[key] = proxy
        return proxy

    def _answer(
        self, request: Request, *, value: Any = None, error: str = "", logged: bool = True
    ) -> None:
        server, command = request.server, request.command
        if error:
            self.refused += 1
            if logged:
                log.info(
                    "MQTT command %s.%s from %s refused: %s", server, command, request.user, error
                )
        payload = result_payload(server, command, value=value, error=error)
        self._publish(self.topics.result(request.user, server, command), payload, 1, False)

    def _refuse_for_rate(self, request: Request) -> None:
        self.rate_limited += 1
        self._refused_in_run += 1
        rate = self.config.mqtt.commands_per_s
        error = f"rate limit: at most {rate:g} commands per second"
        # A flood must not become a flood of log lines: the first refusal of a run is logged,
        # the rest are counted and summed up when the run ends.
        self._answer(request, error=error, logged=self._refused_in_run == 1)

    def _end_rate_run(self) -> None:
        if self._refused_in_run > 1:
            log.info("MQTT commands: %d requests refused for their rate", self._refused_in_run)
        self._refused_in_run = 0
