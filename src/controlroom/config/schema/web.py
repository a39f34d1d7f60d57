"""The ``web`` section of the Settings: the web panel's address, users and live hub."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlroom.config.schema.base import PackageName, Period, Port, Section

Role = Literal["viewer", "operator", "admin"]


class WebUser(Section):
    """One user of the web panel: an argon2 hash of the password and a role."""

    password_hash: str = Field(min_length=1)
    role: Role


class Web(Section):
    """The web panel: where it serves, who may log in, how it follows the servers."""

    # Whether the process manager (`controlroom up`) runs the panel on this host.
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 8080
    # PEM certificate and its private key (mode 600): the panel then serves HTTPS only.
    # Both empty: plain HTTP, allowed only with a loopback `host`.
    tls_cert: str = ""
    tls_key: str = ""
    users: dict[str, WebUser] = Field(default_factory=dict)
    session_ttl_s: Period = 28800.0
    # Logged-in sessions kept at once; beyond that the oldest one ends.
    max_sessions: int = Field(default=10000, ge=1)
    # Failed logins for one user name, and from one address, before each further
    # attempt must wait: login_lockout_s, doubling per failure up to login_lockout_max_s.
    login_failures_per_user: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    login_lockout_s: Period = 1.0
    login_lockout_max_s: Period = 900.0
    # Only with a loopback `host`; the panel refuses to start otherwise.
    allow_anonymous: bool = False
    anonymous_role: Role = "viewer"
    discover_every_s: Period = 2.0
    ping_timeout_s: Period = 1.0
    client_queue: int = Field(default=1000, ge=1)
    events_kept: int = Field(default=200, ge=1)
    # Packages the Setup's `tasks` modules may come from, besides security.allowed_packages.
    task_packages: list[PackageName] = Field(default_factory=list)
