"""The ``web`` section of the Settings, checked for what the panel needs before it serves.

The keys are validated with the rest of the Settings (see
:mod:`controlroom.config.schema`); here they become a :class:`WebConfig` and
two more rules are enforced on an address other machines can reach: no
anonymous access (:func:`check_access`), and HTTPS only (:func:`check_tls`),
since passwords and session cookies would otherwise cross the network in clear.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.config.schema.base import SectionError
from controlroom.config.schema.web import Web
from controlroom.web.errors import WebConfigError
from controlroom.web.tlscert import TlsFileError, check_pair

ROLES = ("viewer", "operator", "admin")  # each role may do everything the ones before it may
LOOPBACK_NAMES = ("localhost", "ip6-localhost")


class WebConfig(Web):
    """What the panel reads from ``settings["web"]``: the section as the schema checks it."""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> WebConfig:
        """The panel's configuration; Settings without a ``web`` section get the defaults."""
        try:
            return cls.read(settings.get("web") or {}, "web")
        except SectionError as exc:
            raise WebConfigError(str(exc)) from None


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


@dataclass(frozen=True)
class TlsFiles:
    """The certificate and private key the panel serves HTTPS with, checked."""

    cert: Path
    key: Path


def check_tls(config: WebConfig, bind_host: str) -> TlsFiles | None:
    """The checked ``web.tls_cert``/``web.tls_key`` pair; None (plain HTTP) only on loopback."""
    cert, key = config.tls_cert.strip(), config.tls_key.strip()
    if not cert and not key:
        if not is_loopback(bind_host):
            raise WebConfigError(
                f"the panel would listen on {bind_host!r}, which other machines can reach, "
                "without HTTPS: set web.tls_cert and web.tls_key (`controlroom keys init --tls` "
                "makes a self-signed pair), or bind to 127.0.0.1 (web.host or --host)"
            )
        return None
    if not cert or not key:
        empty, other = (
            ("web.tls_cert", "web.tls_key") if not cert else ("web.tls_key", "web.tls_cert")
        )
        raise WebConfigError(f"{other} is set but {empty} is empty: HTTPS needs both")
    files = TlsFiles(Path(cert).expanduser(), Path(key).expanduser())
    try:
        check_pair(files.cert, files.key)
    except TlsFileError as exc:
        raise WebConfigError(f"web.tls_{exc.which}: {exc}") from None
    return files


def role_at_least(role: str, needed: str) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    if needed not in ROLES:
        raise ValueError(f"unknown role {needed!r} (roles: {', '.join(ROLES)})")
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
