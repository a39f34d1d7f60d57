"""Which servers would answer a command now: a ``ping`` to each, every few seconds.

A :class:`LivenessWatcher` asks ``find`` for the servers to watch (name →
command endpoint), pings them all in parallel (each within
``ping_timeout_s``), and gives ``report`` every name's :class:`Liveness`, with
the up/down transitions of the round marked. Why ping, rather than the
registry's heartbeats or the publications: a ping is answered by the server's
own command loop, so *up* means "would answer a command now"; it works
without a registry, and for servers that publish nothing between HK samples.

A server ``find`` no longer names stays known as down (reported once, if it
was up), so a panel or a broker never keeps showing it up. A round that fails
is logged; the next one comes at the end of the period all the same.

A :class:`ServerWatch` is the usual round for a consumer of publications (the
web panel's status lights, the MQTT bridge's availability): find the servers,
follow what they publish, ping them, report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from controlroom.rpc.errors import RpcError
from controlroom.rpc.follow import Subscriber
from controlroom.rpc.proxy import Proxy

log = logging.getLogger(__name__)

MAX_PINGS_AT_ONCE = 16
UNKNOWN_ENDPOINT = "no fixed endpoint and not registered"
NOT_FOUND = "no longer found"


@dataclass(frozen=True, slots=True)
class Liveness:
    """Whether a server answered this round's ping, why not, and whether that is news."""

    up: bool
    error: str = ""
    changed: bool = False  # up/down differs from the last round (or first seen)


Find = Callable[[], Mapping[str, str]]  # name → command endpoint ("" when unknown yet)
Report = Callable[[Mapping[str, Liveness]], None]


class LivenessWatcher:
    """A thread that pings what ``find`` names, every ``every_s``, and reports to ``report``."""

    def __init__(
        self,
        find: Find,
        report: Report,
        *,
        name: str,
        every_s: float,
        ping_timeout_s: float = 1.0,
    ) -> None:
        self.find, self.report = find, report
        self.name = name  # of the threads, in the log and in our proxies' client name
        self.every_s, self.ping_timeout_s = every_s, ping_timeout_s
        self.rounds = 0
        self._states: dict[str, Liveness] = {}
        self._proxies: dict[str, Proxy] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._pool = ThreadPoolExecutor(
                MAX_PINGS_AT_ONCE, thread_name_prefix=f"{self.name}-ping"
            )
            self._thread = threading.Thread(
                target=self._run, name=f"{self.name}-watch", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for proxy in self._proxies.values():
            proxy.close()
        self._proxies.clear()

    def states(self) -> dict[str, Liveness]:
        """Every server seen so far, as of the last round."""
        with self._lock:
            return dict(self._states)

    def look(self) -> None:
        """One round: find, ping, report."""
        endpoints = dict(self.find())
        answers = self._ping_all(endpoints)
        with self._lock:
            previous = self._states
            now = {name: Liveness(False, NOT_FOUND) for name in previous}
            now.update(answers)
            self._states = {
                name: _marked(liveness, previous.get(name)) for name, liveness in now.items()
            }
            states = dict(self._states)
        self._forget_proxies(set(endpoints.values()))
        self.rounds += 1
        self.report(states)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.look()
            except Exception:  # one bad round must not stop the watching for good
                log.exception("%s: finding or pinging the servers failed", self.name)
            self._stopping.wait(self.every_s)  # the period between rounds, not a readiness wait

    def _ping_all(self, endpoints: Mapping[str, str]) -> dict[str, Liveness]:
        pool = self._pool
        if pool is None:
            return {}
        futures = {
            name: pool.submit(self._ping, self._proxy(endpoint, name))
            for name, endpoint in endpoints.items()
            if endpoint
        }
        answers = {name: Liveness(False, UNKNOWN_ENDPOINT) for name in endpoints}
        answers.update({name: future.result() for name, future in futures.items()})
        return answers

    def _ping(self, proxy: Proxy) -> Liveness:
        try:
            proxy.ping(self.ping_timeout_s)
        except RpcError as exc:
            return Liveness(False, str(exc))
        return Liveness(True)

    def _proxy(self, endpoint: str, name: str) -> Proxy:
        proxy = self._proxies.get(endpoint)
        if proxy is None:
            proxy = self._proxies[endpoint] = Proxy(
                endpoint, name=name, timeout=self.ping_timeout_s, client=f"controlroom-{self.name}"
            )
        return proxy

    def _forget_proxies(self, endpoints: set[str]) -> None:
        for endpoint in set(self._proxies) - endpoints:
            self._proxies.pop(endpoint).close()


class Located(Protocol):
    """A server as found: where it takes commands and where it publishes ("" when unknown yet)."""

    @property
    def commands(self) -> str: ...

    @property
    def publish(self) -> str: ...


L = TypeVar("L", bound=Located)


class ServerWatch(Generic[L]):
    """Each round: ``find`` the servers, point ``follower`` at what they publish, ping them.

    ``report`` gets the round's liveness; the servers that round found are in :attr:`found`.
    """

    def __init__(
        self,
        find: Callable[[], Mapping[str, L]],
        follower: Subscriber,
        report: Report,
        *,
        name: str,
        every_s: float,
        ping_timeout_s: float,
    ) -> None:
        self.found: Mapping[str, L] = {}
        self._find, self._follower = find, follower
        self.liveness = LivenessWatcher(
            self._look, report, name=name, every_s=every_s, ping_timeout_s=ping_timeout_s
        )

    def start(self) -> None:
        self.liveness.start()

    def stop(self) -> None:
        self.liveness.stop()

    def _look(self) -> dict[str, str]:
        found = self._find()
        self._follower.follow(server.publish for server in found.values())
        self.found = found
        return {name: server.commands for name, server in found.items()}


def _marked(liveness: Liveness, previous: Liveness | None) -> Liveness:
    changed = previous is None or previous.up != liveness.up
    return Liveness(liveness.up, liveness.error, changed)
