"""The status lights: every few seconds, find the servers and ping each one.

Liveness is decided by a ``ping`` service command to each server's command
endpoint (all in parallel, each within ``web.ping_timeout_s``), every
``web.discover_every_s``. Why ping, not the registry's heartbeats or the
publications: a ping is answered by the server's own command loop, so *up*
means "would answer a command now"; it works without a registry (core
services are shown even when the registry is down) and for servers whose
status is empty and so publish nothing between HK samples. The registry
still tells where servers listen (see :mod:`.discovery`).

The result is published to the hub as ``server/<name>`` with ``{up, kind,
commands, publish, since, error}``, only when it changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.web.discovery import Discovery, Target
from controlroom.web.feed import Feed
from controlroom.web.hub import SERVER, Hub, Message, topic_of

log = logging.getLogger(__name__)

MAX_PINGS_AT_ONCE = 16


class Watcher:
    """A thread that keeps the feed's endpoints and the hub's status lights current."""

    def __init__(
        self,
        hub: Hub,
        feed: Feed,
        discovery: Discovery,
        *,
        every_s: float = 2.0,
        ping_timeout_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub, self.feed, self.discovery = hub, feed, discovery
        self.every_s, self.ping_timeout_s = every_s, ping_timeout_s
        self.rounds = 0
        self._clock = clock
        self._proxies: dict[str, Proxy] = {}
        self._lights: dict[str, dict[str, Any]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._pool = ThreadPoolExecutor(MAX_PINGS_AT_ONCE, thread_name_prefix="web-ping")
            self._thread = threading.Thread(target=self._run, name="web-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for proxy in self._proxies.values():
            proxy.close()
        self._proxies.clear()
        self.discovery.close()

    def refresh(self) -> None:
        """Look again now instead of at the end of the period."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.look()
            except Exception:  # one bad round must not switch the lights off for good
                log.exception("web panel: finding the servers failed")
            self._wake.wait(self.every_s)  # the period between rounds, not a readiness wait
            self._wake.clear()

    def look(self) -> None:
        """One round: discover, re-point the feed, ping, publish the lights that changed."""
        targets = self.discovery.targets()
        self.feed.follow({name: t.publish for name, t in targets.items()})
        answers = self._ping_all(targets)
        now = self._clock()
        changed = []
        for name, target in targets.items():
            light = {
                "up": answers.get(name) is None and bool(target.commands),
                "kind": target.kind,
                "commands": target.commands,
                "publish": target.publish,
                "error": answers.get(name) or "",
            }
            previous = self._lights.get(name)
            if previous is None or _differs(previous, light):
                light["since"] = now
                self._lights[name] = light
                changed.append(Message(topic_of(SERVER, name), name, now, dict(light)))
        self.rounds += 1
        self.hub.publish(changed)

    def _ping_all(self, targets: Mapping[str, Target]) -> dict[str, str | None]:
        """Name → None when it answered, else why not."""
        pool = self._pool
        if pool is None:
            return {}
        futures = {
            name: pool.submit(self._ping, self._proxy(t.commands, name))
            for name, t in targets.items()
            if t.commands
        }
        answers: dict[str, str | None] = {
            name: "no fixed endpoint and not registered" for name, t in targets.items()
        }
        for name, future in futures.items():
            answers[name] = future.result()
        return answers

    def _ping(self, proxy: Proxy) -> str | None:
        try:
            proxy.ping(self.ping_timeout_s)
        except RpcError as exc:
            return str(exc)
        return None

    def _proxy(self, endpoint: str, name: str) -> Proxy:
        proxy = self._proxies.get(endpoint)
        if proxy is None:
            proxy = self._proxies[endpoint] = Proxy(
                endpoint, name=name, timeout=self.ping_timeout_s, client="controlroom-web"
            )
        return proxy


def _differs(previous: Mapping[str, Any], light: Mapping[str, Any]) -> bool:
    return any(previous.get(key) != light[key] for key in ("up", "kind", "commands", "publish"))
