"""The ``bridges`` section of the Settings: servers that let outside programs in.

``pipe`` is the pipe-command server (``controlroom pipe run``): plain TCP,
one ``Device|command arg ...`` request per line, for LabVIEW, C or shell
clients. Only the commands its ``allow`` list names are served. ``nodes``
and ``mqtt`` have a module each (:mod:`.nodes`, :mod:`.mqtt`).
"""

from __future__ import annotations

from pydantic import Field

from controlroom.config.schema.base import CommandName, Period, Port, Section
from controlroom.config.schema.mqtt import MqttBridgeSettings
from controlroom.config.schema.nodes import NodeBridgeSettings


class PipeBridge(Section):
    """The pipe-command server: where it listens, who may use it, which commands."""

    host: str = "127.0.0.1"
    port: Port = 7900
    # When set, a client sends `TOKEN <token>` first; required unless `host` is loopback.
    token: str = ""
    # Device name -> the commands outside programs may call on it; nothing else is served.
    allow: dict[str, list[CommandName]] = Field(default_factory=dict)
    # A longer request line is answered with ERR and its connection closed.
    max_line_bytes: int = Field(default=4096, ge=64, le=1_048_576)
    max_clients: int = Field(default=32, ge=1, le=4096)
    # Seconds one request may take (finding the device, the command itself).
    request_timeout_s: Period = 5.0
    # A connection that sends nothing for this long is closed.
    idle_timeout_s: Period = 600.0
    # With a token: a connection that has not sent it within this is closed.
    auth_timeout_s: Period = 5.0
    # With a token: connections waiting for theirs, apart from max_clients (beyond: the
    # oldest is closed), so connections that never authenticate cannot lock clients out.
    max_unauthenticated: int = Field(default=4, ge=1, le=4096)


class Bridges(Section):
    """The bridges to programs and equipment that do not speak controlroom's protocol."""

    pipe: PipeBridge = Field(default_factory=PipeBridge)
    nodes: NodeBridgeSettings = Field(default_factory=NodeBridgeSettings)
    mqtt: MqttBridgeSettings = Field(default_factory=MqttBridgeSettings)
