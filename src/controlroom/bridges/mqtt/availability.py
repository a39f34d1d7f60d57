"""Every ``refresh_s``: find the servers, follow them, ping them, publish their availability.

``online`` means the server answered a ``ping`` (see
:mod:`controlroom.rpc.liveness` for why a ping); it also works for core
services without a registry. Each server's
``<prefix>/<site>/<server>/availability`` (QoS 1, retained) is published when
it changes; a server that is no longer found at all is ``offline``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from controlroom.bridges.mqtt.targets import Target, Targets
from controlroom.bridges.mqtt.topics import OFFLINE, ONLINE, Topics
from controlroom.rpc.follow import Subscriber
from controlroom.rpc.liveness import Liveness, ServerWatch

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
        self.targets, self.topics, self._publish = targets, topics, publish
        self.servers: ServerWatch[Target] = ServerWatch(
            targets.find,
            follower,
            self._publish_changes,
            name="mqtt",
            every_s=every_s,
            ping_timeout_s=ping_timeout_s,
        )

    def start(self) -> None:
        self.servers.start()

    def stop(self) -> None:
        self.servers.stop()
        self.targets.close()

    def endpoint_of(self, server: str) -> str:
        """The command endpoint of ``server`` as last found; "" if unknown."""
        target = self.servers.found.get(server)
        return target.commands if target is not None else ""

    def availability(self) -> dict[str, bool]:
        states = self.servers.liveness.states()
        return {name: liveness.up for name, liveness in states.items()}

    def republish(self) -> None:
        """Send every server's availability again (after a reconnection)."""
        for server, up in self.availability().items():
            self._send(server, up)

    def _publish_changes(self, states: Mapping[str, Liveness]) -> None:
        for name, liveness in states.items():
            if liveness.changed:
                log.info("%s is %s", name, ONLINE if liveness.up else OFFLINE)
                self._send(name, liveness.up)

    def _send(self, server: str, up: bool) -> None:
        self._publish(self.topics.availability(server), ONLINE if up else OFFLINE, 1, True)
