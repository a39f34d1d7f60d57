"""Who gets a place on the pipe server: members up to ``max_clients``, a few newcomers aside.

With a token set, a new connection is a *newcomer* until it proves the token;
then it becomes a *member*. Newcomers have their own small quota
(``max_unauthenticated``) and never take a member's place, so connections
that never authenticate cannot lock the clients with the token out. When the
newcomers' quota is full, the oldest newcomer makes room for the new one
(rather than the new one being turned away): holding every newcomer's place
then takes a stream of fresh connections faster than a real client sends its
``TOKEN`` line, not a handful of silent ones re-opened now and then.

Pure bookkeeping, no I/O: the server decides what to say and whom to close.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclasses.dataclass(frozen=True)
class Arrival(Generic[Key]):
    """What becomes of a new connection: let in or not, and who must leave for it."""

    admitted: bool
    evicted: Key | None = None


class Admission(Generic[Key]):
    """The members and the newcomers (oldest first) of one server; one thread only."""

    def __init__(self, *, max_members: int, max_newcomers: int) -> None:
        self.max_members = max_members
        self.max_newcomers = max_newcomers
        self._members: set[Key] = set()
        self._newcomers: dict[Key, None] = {}  # insertion order: the oldest first

    def __len__(self) -> int:
        return len(self._members) + len(self._newcomers)

    @property
    def full(self) -> bool:
        """No member can be added: a newcomer could not become one now."""
        return len(self._members) >= self.max_members

    def arrive(self, key: Key, *, member: bool) -> Arrival[Key]:
        """A new connection, a member at once (no token to prove) or a newcomer."""
        if self.full:
            return Arrival(admitted=False)
        if member:
            self._members.add(key)
            return Arrival(admitted=True)
        evicted = None
        if len(self._newcomers) >= self.max_newcomers:
            evicted = next(iter(self._newcomers))
            del self._newcomers[evicted]
        self._newcomers[key] = None
        return Arrival(admitted=True, evicted=evicted)

    def is_newcomer(self, key: Key) -> bool:
        return key in self._newcomers

    def promote(self, key: Key) -> bool:
        """The newcomer ``key`` proved the token: a member if there is room (else False)."""
        self._newcomers.pop(key, None)
        if self.full:
            return False
        self._members.add(key)
        return True

    def leave(self, key: Key) -> None:
        self._members.discard(key)
        self._newcomers.pop(key, None)
