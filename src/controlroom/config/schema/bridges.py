"""The ``bridges`` section of the Settings: servers that let outside programs in.

``pipe`` is the pipe-command server (``controlroom pipe run``): plain TCP,
one ``Device|command arg ...`` request per line, for LabVIEW, C or shell
clients. Only the commands its ``allow`` list names are served; each client
commands as the name and role its token gives it (``clients``). ``nodes``
and ``mqtt`` have a module each (:mod:`.nodes`, :mod:`.mqtt`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from controlroom.config.schema.base import CommandName, Period, Port, Section
from controlroom.config.schema.mqtt import MqttBridgeSettings
from controlroom.config.schema.nodes import NodeBridgeSettings
from controlroom.config.schema.web import Role

# The name a client's commands are journaled under: no spaces, nothing to confuse a log.
ClientName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]


class PipeClientEntry(Section):
    """One client of the pipe server: the argon2 hash of its token, and its role."""

    # `controlroom web hash-password` hashes a token as it hashes a panel password.
    token_hash: str = Field(min_length=1)
    role: Role


class PipeBridge(Section):
    """The pipe-command server: where it listens, who may use it, which commands."""

    host: str = "127.0.0.1"
    port: Port = 7900
    # Client name -> its token's hash and role; a client sends `TOKEN <token>` first and its
    # commands are checked and journaled as `<name> via pipe`.
    clients: dict[ClientName, PipeClientEntry] = Field(default_factory=dict)
    # One token for everybody (the client `pipe`, role operator). With clients or a token,
    # every connection sends its token first; without, `host` must be loopback.
    token: str = ""
    # The role of every connection when no token is configured (`pipe-anonymous`).
    anonymous_role: Role = "operator"
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
