"""The status lights: every ``web.discover_every_s``, find the servers, follow them, ping them.

Liveness is a ``ping`` to each server's command endpoint (see
:mod:`controlroom.rpc.liveness` for why a ping), so core services are shown
even when the registry is down; the registry still tells where servers listen
(see :mod:`.discovery`). Each round also points the feed at the servers'
publish endpoints.

The result is published to the hub as ``server/<name>`` with ``{up, kind,
commands, publish, since, error}``, only when it changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from controlroom.rpc.follow import Subscriber
from controlroom.rpc.liveness import Liveness, ServerWatch
from controlroom.web.discovery import Discovery, Target
from controlroom.web.hub import SERVER, Hub, Message, topic_of


class StatusLights:
    """Keeps the feed's endpoints and the hub's status lights current, on a watcher thread."""

    def __init__(
        self,
        hub: Hub,
        feed: Subscriber,
        discovery: Discovery,
        *,
        every_s: float = 2.0,
        ping_timeout_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub, self.discovery, self._clock = hub, discovery, clock
        self.servers: ServerWatch[Target] = ServerWatch(
            discovery.targets,
            feed,
            self._show,
            name="web",
            every_s=every_s,
            ping_timeout_s=ping_timeout_s,
        )
        self._lights: dict[str, dict[str, Any]] = {}

    def start(self) -> None:
        self.servers.start()

    def stop(self) -> None:
        self.servers.stop()
        self.discovery.close()

    def _show(self, states: Mapping[str, Liveness]) -> None:
        now = self._clock()
        changed = []
        for name, target in self.servers.found.items():
            liveness = states[name]
            light = {
                "up": liveness.up,
                "kind": target.kind,
                "commands": target.commands,
                "publish": target.publish,
                "error": liveness.error,
            }
            previous = self._lights.get(name)
            if previous is None or _differs(previous, light):
                light["since"] = now
                self._lights[name] = light
                changed.append(Message(topic_of(SERVER, name), name, now, dict(light)))
        for name in self._lights.keys() - self.servers.found.keys():
            changed.extend(self._gone(name, now))
        self.hub.publish(changed)

    def _gone(self, name: str, now: float) -> list[Message]:
        """A server discovery no longer finds (the registry lost it) is shown down, once."""
        light = self._lights[name]
        if not light["up"]:
            return []
        light = {**light, "up": False, "error": "no longer registered", "since": now}
        self._lights[name] = light
        return [Message(topic_of(SERVER, name), name, now, dict(light))]


def _differs(previous: Mapping[str, Any], light: Mapping[str, Any]) -> bool:
    return any(previous.get(key) != light[key] for key in ("up", "kind", "commands", "publish"))
