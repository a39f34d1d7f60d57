"""What the pipe-command server needs to know, read once from the Settings.

``bridges.pipe`` gives the address, the clients and their tokens, the
allow-list and limits (see :mod:`controlroom.config.schema.bridges`); ``services.registry`` and the
``devices``/``services`` endpoints tell it where to find each device.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

from controlroom.bridges.pipe.clients import SHARED_ROLE, PipeClient, Tokens, read_clients
from controlroom.bridges.pipe.errors import PipeError
from controlroom.rpc.access import check_role
from controlroom.rpc.resolve import registry_endpoint_of, settings_fallback

Fallback = Mapping[str, Mapping[str, str]]


@dataclasses.dataclass(frozen=True)
class PipeConfig:
    """The server's address, who may use it, what it serves and its limits."""

    host: str = "127.0.0.1"
    port: int = 7900
    # Who may connect: listed clients (name -> token hash, role) and the one shared token.
    clients: Mapping[str, PipeClient] = dataclasses.field(default_factory=dict)
    token: str = ""
    anonymous_role: str = SHARED_ROLE  # of every connection when no token is configured
    # Device name -> the commands served on it; a device not named here is unknown.
    allow: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    max_line_bytes: int = 4096
    max_clients: int = 32
    request_timeout_s: float = 5.0
    idle_timeout_s: float = 600.0
    # With a token: how long a new connection has to send it, and how many may be waiting
    # for theirs at once (apart from max_clients, so they never lock the clients out).
    auth_timeout_s: float = 5.0
    max_unauthenticated: int = 4
    # Where devices are looked up by name: the registry first, then these endpoints.
    registry_endpoint: str | None = None
    fallback: Fallback = dataclasses.field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, host: str | None = None, port: int | None = None
    ) -> PipeConfig:
        """The configuration in ``settings``; ``host`` and ``port`` override theirs."""
        section: Mapping[str, Any] = (settings.get("bridges") or {}).get("pipe") or {}
        defaults = cls()
        registry = (settings.get("services") or {}).get("registry") or {}
        return cls(
            host=host or str(section.get("host", defaults.host)),
            port=int(section.get("port", defaults.port)) if port is None else port,
            clients=read_clients(section.get("clients") or {}),
            token=str(section.get("token") or ""),
            anonymous_role=str(section.get("anonymous_role") or defaults.anonymous_role),
            allow=allow_list(section.get("allow") or {}),
            max_line_bytes=int(section.get("max_line_bytes", defaults.max_line_bytes)),
            max_clients=int(section.get("max_clients", defaults.max_clients)),
            request_timeout_s=float(section.get("request_timeout_s", defaults.request_timeout_s)),
            idle_timeout_s=float(section.get("idle_timeout_s", defaults.idle_timeout_s)),
            auth_timeout_s=float(section.get("auth_timeout_s", defaults.auth_timeout_s)),
            max_unauthenticated=int(
                section.get("max_unauthenticated", defaults.max_unauthenticated)
            ),
            registry_endpoint=registry_endpoint_of(settings) if registry.get("commands") else None,
            fallback=settings_fallback(settings),
        )

    def tokens(self) -> Tokens:
        """What tells a client by its token."""
        return Tokens(self.clients, token=self.token, anonymous_role=self.anonymous_role)

    def check(self) -> None:
        """Refuse a configuration that would be unsafe or cannot work."""
        if not (self.token or self.clients) and not is_loopback(self.host):
            raise PipeError(
                "bridges.pipe lists no clients and its token is empty: list clients with "
                f"their tokens (bridges.pipe.clients) or set a token to listen on {self.host} "
                "(without, only a loopback address such as 127.0.0.1 is allowed)"
            )
        try:
            check_role(self.anonymous_role)
        except ValueError as exc:
            raise PipeError(f"bridges.pipe.anonymous_role: {exc}") from None
        if self.max_line_bytes < 16 or self.max_clients < 1:
            raise PipeError("bridges.pipe: max_line_bytes must be >= 16 and max_clients >= 1")
        if min(self.request_timeout_s, self.idle_timeout_s, self.auth_timeout_s) <= 0:
            raise PipeError(
                "bridges.pipe: request_timeout_s, idle_timeout_s and auth_timeout_s must be > 0"
            )
        if self.max_unauthenticated < 1:
            raise PipeError("bridges.pipe: max_unauthenticated must be >= 1")


def allow_list(raw: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """``{device: [command, ...]}`` as sets; a value that is not a list is refused."""
    allowed: dict[str, frozenset[str]] = {}
    for device, commands in raw.items():
        if isinstance(commands, str) or not isinstance(commands, list | tuple):
            raise PipeError(f"bridges.pipe.allow.{device}: expected a list of command names")
        allowed[str(device)] = frozenset(str(c) for c in commands)
    return allowed


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: only this machine can connect."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
