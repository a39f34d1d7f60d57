"""Who a pipe client is: its token names it and gives it a role, for every command it sends.

``bridges.pipe.clients`` lists the clients, each with the argon2 hash of its
token (``controlroom web hash-password`` makes one, as for a panel user) and
its role. A client that sends ``TOKEN <token>`` becomes that client; its
commands go to the control servers on its behalf (``alice via pipe``), so
each server checks that role and journals that name. The older single
``bridges.pipe.token`` still opens a session, as the client ``pipe`` with
the operator role. Without any token configured (possible on loopback
only), every connection is ``pipe-anonymous`` with ``anonymous_role``.

Checking a token against the hashes costs argon2's deliberate CPU time per
client listed: a token that was once found right is remembered by its
SHA-256 digest, so a client that connects for every request (a shell
script, ``nc``) costs one check, not one per connection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import threading
from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from controlroom.bridges.pipe.errors import PipeError
from controlroom.config.schema.base import SectionError
from controlroom.config.schema.bridges import PipeClientEntry

VIA = "pipe"
SHARED_CLIENT = "pipe"  # who the single bridges.pipe.token stands for
SHARED_ROLE = "operator"
ANONYMOUS = "pipe-anonymous"

_hasher = PasswordHasher()


@dataclasses.dataclass(frozen=True)
class PipeIdentity:
    """A client as the control servers see it: its name and role, via pipe."""

    name: str
    role: str

    def on_behalf(self) -> dict[str, str]:
        """The caller field of the calls made for this client."""
        return {"user": self.name, "role": self.role, "via": VIA}


@dataclasses.dataclass(frozen=True)
class PipeClient:
    """One listed client: the argon2 hash of its token, and its role."""

    name: str
    token_hash: str
    role: str


def read_clients(raw: Mapping[str, Any]) -> dict[str, PipeClient]:
    """``bridges.pipe.clients`` as clients; PipeError naming the first bad entry."""
    clients = {}
    for name, entry in raw.items():
        try:
            checked = PipeClientEntry.read(entry, f"bridges.pipe.clients.{name}")
        except SectionError as exc:
            raise PipeError(str(exc)) from None
        clients[str(name)] = PipeClient(str(name), checked.token_hash, checked.role)
    return clients


class Tokens:
    """Tells the client a token belongs to; thread-safe (checks run on worker threads)."""

    def __init__(
        self,
        clients: Mapping[str, PipeClient],
        *,
        token: str = "",
        anonymous_role: str = SHARED_ROLE,
    ) -> None:
        self._clients = dict(clients)
        self._token = token.encode()
        self._anonymous_role = anonymous_role
        self._known: dict[bytes, PipeIdentity] = {}  # digest of a token found right -> client
        self._lock = threading.Lock()

    @property
    def required(self) -> bool:
        """Whether a connection must send a token before anything else."""
        return bool(self._token or self._clients)

    @property
    def anonymous(self) -> PipeIdentity | None:
        """Who a connection is before it sends a token; None when it must send one."""
        return None if self.required else PipeIdentity(ANONYMOUS, self._anonymous_role)

    def identify(self, given: str) -> PipeIdentity | None:
        """The client ``given`` is the token of; None when it is nobody's (blocking: argon2)."""
        if self._token and hmac.compare_digest(given.encode(), self._token):
            return PipeIdentity(SHARED_CLIENT, SHARED_ROLE)
        digest = hashlib.sha256(given.encode()).digest()
        with self._lock:
            known = self._known.get(digest)
        if known is not None:
            return known
        for client in self._clients.values():
            if _matches(client.token_hash, given):
                found = PipeIdentity(client.name, client.role)
                with self._lock:  # one entry per listed client at most: bounded
                    self._known = {d: i for d, i in self._known.items() if i != found}
                    self._known[digest] = found
                return found
        return None


def _matches(token_hash: str, given: str) -> bool:
    try:
        return _hasher.verify(token_hash, given)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
