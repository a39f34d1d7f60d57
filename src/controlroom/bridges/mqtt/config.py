"""What the MQTT bridge needs to know, read once from the Settings.

``bridges.mqtt`` (see :mod:`controlroom.config.schema.mqtt`) gives the
broker, the topics, the allow-list and the limits; ``site`` is part of every
topic; ``services`` says where the core services and the registry are, from
which the bridge finds every server it follows.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Mapping
from typing import Any

from controlroom.bridges.mqtt.errors import MqttError
from controlroom.bridges.mqtt.topics import Topics, slug
from controlroom.config.schema.base import SectionError
from controlroom.config.schema.mqtt import MqttBridgeSettings

Endpoints = Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class MqttConfig:
    """The bridge's broker, topics, commands, limits and where to find the servers."""

    mqtt: MqttBridgeSettings = dataclasses.field(default_factory=MqttBridgeSettings)
    site: str = "LAB"
    # Core services: name -> {commands, publish}; the registry among them lists the others.
    services: Mapping[str, Endpoints] = dataclasses.field(default_factory=dict)
    # Servers followed whatever the registry says (tests, embedding): name -> endpoints.
    extra: Mapping[str, Endpoints] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, host: str | None = None, port: int | None = None
    ) -> MqttConfig:
        """The configuration in ``settings``; ``host`` and ``port`` override the broker's."""
        section = dict((settings.get("bridges") or {}).get("mqtt") or {})
        if host is not None:
            section["host"] = host
        if port is not None:
            section["port"] = port
        try:
            mqtt = MqttBridgeSettings.read(section, "bridges.mqtt")
        except SectionError as exc:
            raise MqttError(str(exc)) from None
        services = {
            str(name): {r: str(entry[r]) for r in ("commands", "publish") if entry.get(r)}
            for name, entry in (settings.get("services") or {}).items()
            if isinstance(entry, Mapping)
        }
        return cls(mqtt=mqtt, site=str(settings.get("site") or "LAB"), services=services)

    @property
    def topics(self) -> Topics:
        return Topics(self.mqtt.prefix, self.site, self.mqtt.discovery_prefix)

    @property
    def broker(self) -> str:
        return f"{self.mqtt.host}:{self.mqtt.port}"

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or slug(f"controlroom-{self.site}-{socket.gethostname()}")

    @property
    def commands_enabled(self) -> bool:
        """Commands need broker credentials: without a username none is subscribed."""
        return bool(self.mqtt.username)

    def role_of(self, user: str) -> str | None:
        """The role ``bridges.mqtt.users`` gives broker user ``user``; None: not listed."""
        return self.mqtt.users.get(user)

    def allowed(self, server: str) -> frozenset[str]:
        return frozenset(self.mqtt.allow.get(server, ()))

    def wants_event(self, event: str) -> bool:
        return "*" in self.mqtt.events or event in self.mqtt.events
