"""The ``bridges.mqtt`` section of the Settings: the MQTT / Home Assistant bridge.

The bridge (``controlroom mqtt run``) follows every server's status, HK and
events and publishes them to an MQTT broker under ``<prefix>/<site>/...``,
with Home Assistant discovery under ``discovery_prefix``. Commands arrive on
``.../<command>/set`` topics, and only when ``username`` is set: without
broker credentials no command topic is subscribed at all.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from controlroom.config.schema.base import CommandName, Period, Section

WILDCARDS = ("+", "#")


def _topic_prefix(value: str) -> str:
    """A topic prefix of one or more levels, with no wildcard and no empty level."""
    if not value or any(w in value for w in WILDCARDS) or "\0" in value:
        raise ValueError(f"{value!r} is not a topic prefix (no '+', '#', NUL; not empty)")
    if any(not level for level in value.split("/")):
        raise ValueError(f"{value!r} has an empty topic level (a leading, trailing or double '/')")
    return value


TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]


class MqttBridgeSettings(Section):
    """Which broker, under which topics, which commands, and the bridge's limits."""

    # `controlroom up` starts the bridge only when enabled (`mqtt run` always runs).
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    # CA certificates for tls (PEM); empty: the system's.
    ca_file: str = ""
    # Broker credentials. Commands are accepted only when username is set.
    username: str = ""
    password: str = ""
    # Empty: controlroom-<site>-<host name>.
    client_id: str = ""
    prefix: TopicPrefix = "controlroom"
    discovery_prefix: TopicPrefix = "homeassistant"
    # Announce every parameter to Home Assistant (MQTT discovery).
    discovery: bool = True
    # Server name -> the commands accepted on <prefix>/<site>/<server>/<command>/set.
    allow: dict[str, list[CommandName]] = Field(default_factory=dict)
    # Events forwarded to <prefix>/<site>/<server>/events ("*": all of them).
    events: list[str] = Field(default_factory=lambda: ["limit"])
    # Seconds between two looks for servers (Settings, registry) and their pings.
    refresh_s: Period = 5.0
    ping_timeout_s: Period = 1.0
    # A parameter's topic gets at most one new value per this many seconds.
    min_interval_s: float = Field(default=1.0, ge=0)
    # A command payload larger than this is refused.
    max_payload_bytes: int = Field(default=4096, ge=16, le=1_048_576)
    # Commands accepted per second (all servers together), and the burst allowed.
    commands_per_s: Period = 5.0
    command_burst: int = Field(default=10, ge=1)
    command_timeout_s: Period = 10.0
    keepalive_s: int = Field(default=30, ge=5, le=65535)
    # How long `mqtt run` waits for the broker before it gives up.
    connect_timeout_s: Period = 10.0
