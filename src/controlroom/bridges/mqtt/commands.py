"""Commands from MQTT: ``<prefix>/<site>/<server>/<command>/set`` -> the control server.

Only a command the allow-list names for that server is called; the payload
gives its arguments (see :func:`~.payloads.parse_arguments`); the answer,
``{"ok": true, "value": ...}`` or ``{"ok": false, "error": ...}``, goes to
``.../<command>/result`` (QoS 1, not retained). The command runs on the
control server like any other -- checked, run one at a time, journaled --
through a :class:`~controlroom.rpc.Proxy`, on a small pool of worker threads
so a slow command never holds up the MQTT network thread.

Refused without calling anything: a server or command not allowed, a retained
request (it would run again at every reconnection), a payload too large or
malformed, more than ``commands_per_s`` (with a burst of ``command_burst``),
more than :data:`MAX_PENDING` waiting. Every request gets exactly one result,
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
from controlroom.rpc import CallTimeout, Proxy, RemoteError, RpcError

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]
WORKERS = 4
MAX_PENDING = 16
CLIENT_NAME = "controlroom-mqtt"


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
        self._proxies: dict[str, Proxy] = {}
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """One message on a command topic; never raises."""
        where = self.topics.parse_set(topic)
        if where is None:
            return
        server, command = where
        if not self._bucket.take():
            self._refuse_for_rate(server, command)
            return
        self._end_rate_run()
        try:
            arguments = self._check(server, command, payload, retained)
        except PayloadError as exc:
            self._answer(server, command, error=str(exc))
            return
        if not self._pending.acquire(blocking=False):
            self._answer(server, command, error=f"busy: {MAX_PENDING} commands are waiting")
            return
        self.accepted += 1
        self._pool.submit(self._run, server, command, arguments)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
        for proxy in proxies:
            proxy.close()

    def _check(self, server: str, command: str, payload: bytes, retained: bool) -> Arguments:
        allowed = self.config.allowed(server)
        if command not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise PayloadError(
                f"command {command!r} is not allowed for {server} (allowed: {names}; "
                f"see bridges.mqtt.allow)"
            )
        if retained:
            raise PayloadError("a retained command is ignored: publish it without the retain flag")
        return parse_arguments(payload, self.config.mqtt.max_payload_bytes)

    def _run(self, server: str, command: str, arguments: Arguments) -> None:
        try:
            value = self._call(server, command, arguments)
        except PayloadError as exc:
            self._answer(server, command, error=str(exc))
        except Exception as exc:  # the worker must answer whatever happened
            log.exception("MQTT command %s.%s failed", server, command)
            self._answer(server, command, error=f"{type(exc).__name__}: {exc}")
        else:
            self._answer(server, command, value=value)
        finally:
            self._pending.release()

    def _call(self, server: str, command: str, arguments: Arguments) -> Any:
        args, kwargs = arguments
        timeout = self.config.mqtt.command_timeout_s
        try:
            return self._proxy(server).request(command, args, kwargs, timeout=timeout)
        except RemoteError as exc:
            raise PayloadError(f"{exc.info.type}: {exc.info.message}") from None
        except CallTimeout:
            raise PayloadError(f"timeout: {server} did not answer within {timeout:g} s") from None
        except RpcError as exc:
            raise PayloadError(f"{server}: {exc}") from None

    def _proxy(self, server: str) -> Proxy:
        endpoint = self._endpoint_of(server)
        if not endpoint:
            raise PayloadError(f"{server} not found: not registered and not a core service")
        with self._lock:
            proxy = self._proxies.get(endpoint)
            if proxy is None:
                proxy = self._proxies[endpoint] = Proxy(endpoint, name=server, client=CLIENT_NAME)
        return proxy

    def _answer(
        self, server: str, command: str, *, value: Any = None, error: str = "", logged: bool = True
    ) -> None:
        if error:
            self.refused += 1
            if logged:
                log.info("MQTT command %s.%s refused: %s", server, command, error)
        payload = result_payload(server, command, value=value, error=error)
        self._publish(self.topics.result(server, command), payload, 1, False)

    def _refuse_for_rate(self, server: str, command: str) -> None:
        self.rate_limited += 1
        self._refused_in_run += 1
        rate = self.config.mqtt.commands_per_s
        error = f"rate limit: at most {rate:g} commands per second"
        # A flood must not become a flood of log lines: the first refusal of a run is logged,
        # the rest are counted and summed up when the run ends.
        self._answer(server, command, error=error, logged=self._refused_in_run == 1)

    def _end_rate_run(self) -> None:
        if self._refused_in_run > 1:
            log.info("MQTT commands: %d requests refused for their rate", self._refused_in_run)
        self._refused_in_run = 0
