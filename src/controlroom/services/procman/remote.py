"""Servers of other hosts that processes of this host need: waited for, never started.

A control server on a bench host needs the registry, the log manager, the
configuration manager and the storage manager of the server host. Their
process manager starts them; ours waits until each answers a ping (found
through the registry, else at its Settings endpoints), for at most the
policy's ``ready_timeout_s``. One that does not answer by then costs a
warning, not the start: every link of a control server survives its service
being down and catches up when it comes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.resolve import registry_endpoint_of, resolve, settings_fallback

log = logging.getLogger(__name__)

PROBE_S = 0.5  # one ping's timeout, and the pause before asking again
WaitRemote = Callable[[Collection[str], threading.Event], list[str]]


class RemoteServers:
    """Pings servers of other hosts, found by name, until they answer."""

    def __init__(
        self, settings: Mapping[str, Any], *, timeout_s: float, probe_s: float = PROBE_S
    ) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.probe_s = probe_s

    def wait(self, names: Collection[str], stop: threading.Event) -> list[str]:
        """Wait until every server of ``names`` answers (or ``stop`` is set, or the
        timeout passed); the names that did not answer."""
        deadline = time.monotonic() + self.timeout_s
        missing = sorted(set(names))
        while missing and not stop.is_set():
            missing = [name for name in missing if not self.answers(name)]
            # A name that cannot be resolved fails at once: pause before the next round.
            if not missing or time.monotonic() >= deadline or stop.wait(self.probe_s):
                break
        if missing:
            log.warning(
                "procman: %s of other hosts did not answer within %g s; starting what needs "
                "them anyway",
                ", ".join(missing),
                self.timeout_s,
            )
        return missing

    def answers(self, name: str) -> bool:
        """Whether server ``name`` answers a ping now."""
        try:
            endpoints = resolve(
                name,
                registry_endpoint=registry_endpoint_of(self.settings),
                fallback=settings_fallback(self.settings),
                timeout_s=self.probe_s,
            )
            with Proxy(endpoints["commands"], name=name, timeout=self.probe_s) as proxy:
                return proxy.is_alive(self.probe_s)
        except RpcError:
            return False


def no_wait(names: Collection[str], stop: threading.Event) -> list[str]:
    """Where a supervisor without a view of other hosts "waits": not at all."""
    return []


def in_background(
    wait: WaitRemote, names: Collection[str], stop: threading.Event
) -> threading.Event:
    """An event set once ``wait`` for ``names`` is over (at once when there are none):
    one wait on a thread of its own, however many processes need them."""
    over = threading.Event()
    if not names:
        over.set()
        return over

    def waiting() -> None:
        try:
            wait(names, stop)
        finally:
            over.set()

    threading.Thread(target=waiting, name="procman-remote-wait", daemon=True).start()
    return over
