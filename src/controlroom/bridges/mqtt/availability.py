"""Every ``refresh_s``: find the servers, follow them, ping them, publish their availability.

``online`` means the server answered a ``ping`` (see
:mod:`controlroom.rpc.liveness` for why a ping); it also works for core
services without a registry. Each server's
``<prefix>/<site>/<server>/availability`` (QoS 1, retained) is published when
it changes; a server that is no longer found at all is ``offline``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from controlroom.bridges.mqtt.targets import Target, Targets
from controlroom.bridges.mqtt.topics import OFFLINE, ONLINE, Topics
from controlroom.rpc.follow import Subscriber
from controlroom.rpc.liveness import Liveness, LivenessWatcher

log = logging.getLogger(__name__)

Publish = Callable[[str, str, int, bool], None]


class Availability:
    """Keeps the follower's endpoints and the availability topics current, on a watcher thread."""

    def __init__(
        self,
        targets: Targets,
        follower: Subscriber,
        topics: Topics,
        publish: Publish,
        *,
        every_s: float = 5.0,
        ping_timeout_s: float = 1.0,
    ) -> None:
        self.targets, self.follower, self.topics = targets, follower, topics
        self.watcher = LivenessWatcher(
            self._find,
            self._publish_changes,
            name="mqtt",
            every_s=every_s,
            ping_timeout_s=ping_timeout_s,
        )
        self._publish = publish
        self._found: dict[str, Target] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.targets.close()

    def endpoint_of(self, server: str) -> str:
        """The command endpoint of ``server`` as last found; "" if unknown."""
        with self._lock:
            target = self._found.get(server)
        return target.commands if target is not None else ""

    def availability(self) -> dict[str, bool]:
        return {name: liveness.up for name, liveness in self.watcher.states().items()}

    def republish(self) -> None:
        """Send every server's availability again (after a reconnection)."""
        for server, up in self.availability().items():
            self._send(server, up)

    def _find(self) -> dict[str, str]:
        found = self.targets.find()
        self.follower.follow(t.publish for t in found.values())
        with self._lock:
            self._found = found
        return {name: t.commands for name, t in found.items()}

    def _publish_changes(self, states: Mapping[str, Liveness]) -> None:
        for name, liveness in states.items():
            if liveness.changed:
                log.info("%s is %s", name, ONLINE if liveness.up else OFFLINE)
                self._send(name, liveness.up)

    def _send(self, server: str, up: bool) -> None:
        self._publish(self.topics.availability(server), ONLINE if up else OFFLINE, 1, True)
