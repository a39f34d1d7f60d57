"""The live side of the panel put together: hub, feed thread and watcher thread.

:class:`Live` is what :func:`~controlroom.web.app.create_app` starts when the
app starts and stops when it stops. Tests and embedders pass their own
:class:`~.discovery.Discovery` (e.g. a :class:`~.discovery.StaticDiscovery`
with the endpoints of servers they started) or a whole ``Live``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.web.config import WebConfig
from controlroom.web.discovery import Discovery, SettingsDiscovery
from controlroom.web.feed import Feed
from controlroom.web.hub import Hub
from controlroom.web.watch import Watcher


class Live:
    """The hub, kept current by a feed (publications) and a watcher (status lights)."""

    def __init__(self, hub: Hub, feed: Feed, watcher: Watcher) -> None:
        self.hub, self.feed, self.watcher = hub, feed, watcher

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
        feed = Feed(hub)
        watcher = Watcher(
            hub,
            feed,
            discovery or SettingsDiscovery(settings, hub),
            every_s=config.discover_every_s,
            ping_timeout_s=config.ping_timeout_s,
        )
        return cls(hub, feed, watcher)

    def start(self) -> None:
        self.feed.start()
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.feed.stop()

    def describe(self) -> dict[str, Any]:
        """Counters for the hub status page and tests."""
        return {
            "published": self.hub.published,
            "subscribers": self.hub.subscribers,
            "rounds": self.watcher.rounds,
            "feed": self.feed.describe(),
        }
