"""Who calls, and whether they may: one permission model for every path.

Every command a control server serves has an *access class*:

* ``read``: looks only (``ping``, ``info``, a query to the instrument);
* ``command``: changes the device or the lab (a setpoint, a move, ``load_setup``);
* ``admin``: changes how the lab runs (``quit``, ``register``, ``stop_all``).

Every caller has a *role*: a ``viewer`` may read, an ``operator`` may also
command, an ``admin`` may do everything. A client key may be granted its role
on some servers only (``devices``); elsewhere it is a viewer.

The caller is decided by the server, never by the client: on a CURVE socket it
is the client key that the ZAP handler admitted; without CURVE (possible on
loopback only) it is ``anonymous`` with the Settings' ``anonymous_role``. A
key marked ``delegate`` (the lab's own processes: the web panel, the pipe
server, the MQTT bridge, which authenticate their own users) may name the
person it calls for in the call's ``caller`` field; that person's role is
capped at the key's own. The check runs at the control server, whoever the
caller is, and every refusal is journaled with the identity it refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from controlroom.rpc.errors import RpcError

READ: Final = "read"
COMMAND: Final = "command"
ADMIN: Final = "admin"
ACCESS_CLASSES: Final = (READ, COMMAND, ADMIN)
ROLES: Final = ("viewer", "operator", "admin")
ANONYMOUS: Final = "anonymous"

_RANK: Final = {"viewer": 0, "operator": 1, "admin": 2}
_NEEDS: Final = {READ: 0, COMMAND: 1, ADMIN: 2}
_ROLE_FOR: Final = {READ: "viewer", COMMAND: "operator", ADMIN: "admin"}


class Forbidden(RpcError, PermissionError):
    """The caller's role does not allow this command on this server."""


def check_role(role: object) -> str:
    """``role`` if it is one of :data:`ROLES`, else ValueError naming them."""
    if role not in _RANK:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return str(role)


def check_access(access: object) -> str:
    """``access`` if it is one of :data:`ACCESS_CLASSES`, else ValueError naming them."""
    if access not in _NEEDS:
        raise ValueError(f"access must be one of {', '.join(ACCESS_CLASSES)}, not {access!r}")
    return str(access)


def lower_role(first: str, second: str) -> str:
    """The lesser of two roles."""
    return first if _RANK[first] <= _RANK[second] else second


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity a server decided a message comes from."""

    key: str  # the client key's name; "anonymous" without CURVE
    role: str
    devices: frozenset[str] | None = None  # the servers the role holds on; None: all
    user: str | None = None  # the person a delegate key calls for
    via: str | None = None  # how that person came in (web, pipe, mqtt)

    def role_on(self, server: str) -> str:
        """The role this caller has on ``server`` (a grant elsewhere leaves a viewer)."""
        if self.devices is not None and server not in self.devices:
            return "viewer"
        return self.role

    def may(self, access: str, server: str) -> bool:
        return _RANK[self.role_on(server)] >= _NEEDS[access]

    @property
    def identity(self) -> str:
        """Who, for the journal: ``alice via web (key lab)``, ``key operator``, ``anonymous``."""
        if self.user:
            return f"{self.user} via {self.via or '?'} (key {self.key})"
        return ANONYMOUS if self.key == ANONYMOUS else f"key {self.key}"

    def __str__(self) -> str:
        return self.identity


def refusal(caller: Caller, server: str, command: str, access: str) -> Forbidden:
    """The error for a command the caller may not run, saying what it would take."""
    return Forbidden(
        f"{caller.identity} ({caller.role_on(server)}) may not run {command!r} on {server}: "
        f"it needs the {_ROLE_FOR[access]} role"
    )


@dataclass(frozen=True)
class KeyGrant:
    """What the server knows of one admitted client key."""

    name: str
    role: str
    devices: frozenset[str] | None
    delegate: bool

    @functools.cached_property
    def caller(self) -> Caller:  # made once per grant: grants are cached per key load
        return Caller(self.name, self.role, self.devices)


KeyLookup = Callable[[str], KeyGrant | None]


class CallerResolver:
    """Turns a message's authenticated key (or its absence) and caller field into a Caller.

    ``keys`` maps the ZAP user id (the client's public key, z85) to its grant;
    it is called for every message so a revoked key loses its rights at the
    next reload, even on a connection it opened before.
    """

    def __init__(self, anonymous_role: str = "admin", keys: KeyLookup | None = None) -> None:
        self.anonymous = Caller(ANONYMOUS, check_role(anonymous_role))
        self.keys = keys

    def resolve(self, user_id: str | None, claimed: Mapping[str, Any] | None) -> Caller:
        base, delegate = self._base(user_id)
        if not claimed:
            return base
        if not delegate:
            raise Forbidden(f"{base.identity} may not call on behalf of another user")
        return _on_behalf(base, claimed)

    def _base(self, user_id: str | None) -> tuple[Caller, bool]:
        if user_id is None or self.keys is None:
            # No CURVE on this socket: only possible on loopback (endpoints.bind refuses
            # anything else), where the lab's own processes delegate as anonymous.
            return self.anonymous, True
        grant = self.keys(user_id)
        if grant is None:
            raise Forbidden("this client key is no longer admitted (revoked)")
        return grant.caller, grant.delegate


def _on_behalf(base: Caller, claimed: Mapping[str, Any]) -> Caller:
    user, via = claimed.get("user"), claimed.get("via")
    if not isinstance(user, str) or not user:
        raise Forbidden("the caller field names no user")
    try:
        role = check_role(claimed.get("role", "viewer"))
    except ValueError as exc:
        raise Forbidden(f"caller {user!r}: {exc}") from None
    devices = claimed.get("devices")
    granted = base.devices
    if isinstance(devices, str) and devices:
        named = frozenset(d for d in devices.split(",") if d)
        granted = named if granted is None else granted & named
    return Caller(
        base.key,
        lower_role(role, base.role),
        granted,
        user,
        via if isinstance(via, str) and via else None,
    )
