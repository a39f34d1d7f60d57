"""Every ``refresh_s``: find the servers, follow them, ping them, publish their availability.

Why ping rather than the registry's heartbeats: a ping is answered by the
server's own command loop, so ``online`` means "would answer a command now";
it also works for core services without a registry. Each server's
``<prefix>/<site>/<server>/availability`` (QoS 1, retained) is published when
it changes; a server that is no longer found at all is ``offline``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from controlroom.bridges.mqtt.follower import Follower
from controlroom.bridges.mqtt.targets import Target, Targets
from controlroom.bridges.mqtt.topics import OFFLINE, ONLINE, Topics
from controlroom.rpc import Proxy, RpcError

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]
MAX_PINGS_AT_ONCE = 16


class Watcher:
    """A thread that keeps the follower's endpoints and the availability topics current."""

    def __init__(
        self,
        targets: Targets,
        follower: Follower,
        topics: Topics,
        publish: Publish,
        *,
        every_s: float = 5.0,
        ping_timeout_s: float = 1.0,
    ) -> None:
        self.targets, self.follower, self.topics = targets, follower, topics
        self.every_s, self.ping_timeout_s = every_s, ping_timeout_s
        self.rounds = 0
        self._publish = publish
        self._found: dict[str, Target] = {}
        self._up: dict[str, bool] = {}
        self._proxies: dict[str, Proxy] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(MAX_PINGS_AT_ONCE, thread_name_prefix="mqtt-ping")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mqtt-watch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=True)
        for proxy in self._proxies.values():
            proxy.close()
        self._proxies.clear()
        self.targets.close()

    def endpoint_of(self, server: str) -> str:
        """The command endpoint of ``server`` as last found; "" if unknown."""
        with self._lock:
            target = self._found.get(server)
        return target.commands if target is not None else ""

    def availability(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._up)

    def republish(self) -> None:
        """Send every server's availability again (after a reconnection)."""
        for server, up in self.availability().items():
            self._publish(self.topics.availability(server), ONLINE if up else OFFLINE, 1, True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.look()
            except Exception:  # one bad round must not stop the availability for good
                log.exception("MQTT bridge: finding the servers failed")
            self._wake.wait(self.every_s)  # the period between rounds, not a readiness wait
            self._wake.clear()

    def refresh(self) -> None:
        """Look again now instead of at the end of the period."""
        self._wake.set()

    def look(self) -> None:
        """One round: find, re-point the follower, ping, publish what changed."""
        found = self.targets.find()
        self.follower.follow(t.publish for t in found.values())
        answers = self._ping_all(found)
        with self._lock:
            self._found = found
            previous = dict(self._up)
            now = {name: answers.get(name, False) for name in found}
            now.update({name: False for name in previous if name not in found})
            self._up = now
        for name, up in now.items():
            if previous.get(name) != up:
                log.info("%s is %s", name, ONLINE if up else OFFLINE)
                self._publish(self.topics.availability(name), ONLINE if up else OFFLINE, 1, True)
        self.rounds += 1

    def _ping_all(self, found: Mapping[str, Target]) -> dict[str, bool]:
        futures = {
            name: self._pool.submit(self._ping, self._proxy(t.commands, name))
            for name, t in found.items()
            if t.commands
        }
        return {name: future.result() for name, future in futures.items()}

    def _ping(self, proxy: Proxy) -> bool:
        try:
            proxy.ping(self.ping_timeout_s)
        except RpcError:
            return False
        return True

    def _proxy(self, endpoint: str, name: str) -> Proxy:
        proxy = self._proxies.get(endpoint)
        if proxy is None:
            proxy = self._proxies[endpoint] = Proxy(
                endpoint, name=name, timeout=self.ping_timeout_s, client="controlroom-mqtt"
            )
        return proxy
