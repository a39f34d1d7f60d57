"""The ``bridges.mqtt`` section of the Settings: the MQTT / Home Assistant bridge.

The bridge (``controlroom mqtt run``) follows every server's status, HK and
events and publishes them to an MQTT broker under ``<prefix>/<site>/...``,
with Home Assistant discovery under ``discovery_prefix``. Commands arrive on
``<prefix>/<site>/set/<broker user>/<server>/<command>``, and only when
``username`` is set: without broker credentials no command topic is
subscribed at all. ``users`` gives each broker user its role; the broker's
ACL must let each user publish under its own name only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from controlroom.config.schema.base import CommandName, Period, Section
from controlroom.config.schema.web import Role

WILDCARDS = ("+", "#")


def _topic_prefix(value: str) -> str:
    """A topic prefix of one or more levels, with no wildcard and no empty level."""
    if not value or any(w in value for w in WILDCARDS) or "\0" in value:
        raise ValueError(f"{value!r} is not a topic prefix (no '+', '#', NUL; not empty)")
    if any(not level for level in value.split("/")):
        raise ValueError(f"{value!r} has an empty topic level (a leading, trailing or double '/')")
    return value


TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]


def _topic_level(value: str) -> str:
    """A name that is one topic level: not empty, no '/', '+', '#' or NUL."""
    if not value or any(c in value for c in ("/", *WILDCARDS, "\0")):
        raise ValueError(f"{value!r} is not one topic level (no '/', '+', '#', NUL; not empty)")
    return value


BrokerUser = Annotated[str, AfterValidator(_topic_level)]


class MqttBridgeSettings(Section):
    """Which broker, under which topics, which commands, and the bridge's limits."""

    # `controlroom up` starts the bridge only when enabled (`mqtt run` always runs).
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    # CA certificates for tls (PEM); empty: the system's.
    ca_file: str = ""
    # The bridge's own broker credentials. Commands are taken only when username is set.
    username: str = ""
    password: str = ""
    # Empty: controlroom-<site>-<host name>.
    client_id: str = ""
    prefix: TopicPrefix = "controlroom"
    discovery_prefix: TopicPrefix = "homeassistant"
    # Announce every parameter to Home Assistant (MQTT discovery).
    discovery: bool = True
    # Broker user -> its role (viewer, operator, admin). A user publishes a command on
    # <prefix>/<site>/set/<user>/<server>/<command> and it runs as `<user> via mqtt`;
    # a user not listed is refused. The broker's ACL must keep each user to its own name.
    users: dict[BrokerUser, Role] = Field(default_factory=dict)
    # Server name -> the commands accepted from those users.
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
