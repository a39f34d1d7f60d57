"""The live side of the panel put together: hub, feed thread and status lights.

The feed is a :class:`~controlroom.rpc.follow.Subscriber` on everything the
followed servers publish; what one wake-up takes goes to the hub as one
batch, so a burst costs one hub update, not one per message. The
:class:`~.watch.StatusLights` say which servers it follows.

:class:`Live` is what :func:`~controlroom.web.app.create_app` starts when the
app starts and stops when it stops. Tests and embedders pass their own
:class:`~.discovery.Discovery` (e.g. a :class:`~.discovery.StaticDiscovery`
with the endpoints of servers they started) or a whole ``Live``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.rpc.follow import Publication, Subscriber
from controlroom.web.config import WebConfig
from controlroom.web.discovery import Discovery, SettingsDiscovery
from controlroom.web.hub import Hub, Message
from controlroom.web.leasebook import FOLLOWS, LeaseBook
from controlroom.web.watch import StatusLights

FEED_RCVHWM = 100_000  # a burst is kept in ZeroMQ rather than lost


class Live:
    """The hub, kept current by a feed (publications) and status lights (pings)."""

    def __init__(self, hub: Hub, feed: Subscriber, lights: StatusLights) -> None:
        self.hub, self.feed, self.lights = hub, feed, lights
        self.leases = LeaseBook()  # the devices' leases, from their events on the hub
        hub.attach(self.leases, FOLLOWS)
        # Started in this order, stopped in the reverse: the lights point the feed.
        self._parts: tuple[Subscriber | StatusLights, ...] = (feed, lights)

    @classmethod
    def build(
        cls,
        settings: Mapping[str, Any],
        config: WebConfig,
        *,
        discovery: Discovery | None = None,
    ) -> Live:
        """A hub following the servers ``discovery`` finds (default: from the Settings)."""
        hub = Hub(events_kept=config.events_kept)
        feed = hub_feed(hub)
        lights = StatusLights(
            hub,
            feed,
            discovery or SettingsDiscovery(settings, hub),
            every_s=config.discover_every_s,
            ping_timeout_s=config.ping_timeout_s,
        )
        return cls(hub, feed, lights)

    def start(self) -> None:
        for part in self._parts:
            part.start()

    def stop(self) -> None:
        for part in reversed(self._parts):
            part.stop()

    def describe(self) -> dict[str, Any]:
        """Counters for the hub status page and tests."""
        return {
            "published": self.hub.published,
            "subscribers": self.hub.subscribers,
            "rounds": self.lights.servers.liveness.rounds,
            "feed": self.feed.describe(),
        }


def hub_feed(hub: Hub) -> Subscriber:
    """A subscriber passing every publication to ``hub``, a wake-up's worth at a time."""
    batch: list[Message] = []

    def take(publication: Publication) -> None:
        batch.append(
            Message(publication.topic, publication.server, publication.time, publication.values)
        )

    def flush() -> None:
        hub.publish(batch)
        batch.clear()

    return Subscriber(name="web-feed", rcvhwm=FEED_RCVHWM, on_wake=flush).on("", take)
