"""The ``bridges`` section of the Settings: servers that let outside programs in.

Kept apart from :mod:`controlroom.config.schema` (which includes it as
``SettingsModel.bridges``) so that module stays small. Same rules: unknown
keys are typos, values are not coerced, and every key has a default so
Settings files written before the bridges existed stay valid.

``pipe`` is the pipe-command server (``controlroom pipe run``): plain TCP,
one ``Device|command arg ...`` request per line, for LabVIEW, C or shell
clients. Only the commands its ``allow`` list names are served.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from controlroom.config.mqttschema import MqttBridgeSettings
from controlroom.config.nodeschema import NodeBridgeSettings

Period = Annotated[float, Field(gt=0)]


def _command_name(value: str) -> str:
    if not value.isidentifier():
        raise ValueError(f"{value!r} is not a command name (letters, digits, underscores)")
    return value


CommandName = Annotated[str, AfterValidator(_command_name)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PipeBridge(_Section):
    """The pipe-command server: where it listens, who may use it, which commands."""

    host: str = "127.0.0.1"
    port: int = Field(default=7900, ge=0, le=65535)
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


class Bridges(_Section):
    """The bridges to programs and equipment that do not speak controlroom's protocol."""

    pipe: PipeBridge = Field(default_factory=PipeBridge)
    nodes: NodeBridgeSettings = Field(default_factory=NodeBridgeSettings)
    mqtt: MqttBridgeSettings = Field(default_factory=MqttBridgeSettings)
