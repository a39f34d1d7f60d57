"""The ``web`` section of the Settings, checked for what the panel needs before it serves.

The keys are validated with the rest of the Settings (see
:mod:`controlroom.config.schema`); here they become a :class:`WebConfig` and
one more rule is enforced: anonymous access only on a loopback bind.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pydantic import ValidationError

from controlroom.config.schema.web import Web
from controlroom.web.errors import WebConfigError

ROLES = ("viewer", "operator", "admin")  # each role may do everything the ones before it may
LOOPBACK_NAMES = ("localhost", "ip6-localhost")


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    role: str


@dataclass(frozen=True)
class WebConfig:
    """What the panel reads from ``settings["web"]``."""

    host: str = "127.0.0.1"
    port: int = 8080
    users: Mapping[str, User] = field(default_factory=dict)
    session_ttl_s: float = 28800.0
    max_sessions: int = 10000
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_lockout_s: float = 1.0
    login_lockout_max_s: float = 900.0
    allow_anonymous: bool = False
    anonymous_role: str = "viewer"
    discover_every_s: float = 2.0
    ping_timeout_s: float = 1.0
    client_queue: int = 1000
    events_kept: int = 200

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WebConfig:
        """The panel's configuration; Settings without a ``web`` section get the defaults."""
        try:
            model = Web.model_validate(_plain(settings.get("web") or {}))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in ("web", *first["loc"]))
            raise WebConfigError(f"{where}: {first['msg']}") from None
        users = {
            name: User(name, entry.password_hash, entry.role) for name, entry in model.users.items()
        }
        # Keys the panel process itself does not use (e.g. ``enabled``, read by the
        # process manager) are validated above and left out here.
        known = {f.name for f in fields(cls)} - {"users"}
        values = {k: v for k, v in model.model_dump(exclude={"users"}).items() if k in known}
        return cls(users=users, **values)


def is_loopback(host: str) -> bool:
    """True when ``host`` can only be reached from this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name we cannot judge without resolving it: not loopback


def check_access(config: WebConfig, bind_host: str) -> None:
    """Refuse anonymous access on an address other machines can reach."""
    if config.allow_anonymous and not is_loopback(bind_host):
        raise WebConfigError(
            f"web.allow_anonymous is true but the panel would listen on {bind_host!r}, which "
            "other machines can reach: bind to 127.0.0.1 (web.host or --host), or set "
            "web.allow_anonymous to false and add users to web.users"
        )


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r} (roles: {', '.join(ROLES)})")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (the schema is strict about container types)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
