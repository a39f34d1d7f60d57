"""Leases: one client takes a control server for a while; the others may only look.

A caller takes the lease with the ``lease(seconds)`` service command and keeps
it by calling ``lease`` again before it runs out (the lease then runs
``seconds`` from that call). While it is valid, every ``command`` or
``admin`` call from anyone else is refused with :class:`LeaseHeld`, naming
the holder and the time the lease ends; ``read`` calls stay open to all. An
admin may still run ``admin`` commands (``quit`` in an emergency), and may
break the lease with ``release(force=True)``; everything else waits.

The holder is a person through a key: the same key and the same user (a
delegate's ``alice``) hold it, whichever bridge they come in by. A holder that
stops renewing (its process died, its network went away) loses the lease at
``until``: it is checked at every call, and a task of the server announces
the expiry without waiting for one. Taking, releasing, expiry and breaking
are published as events (``lease_taken``, ``lease_released``,
``lease_expired``, ``lease_broken``), each with the lease's ``serial`` (a
display following them can tell the end of an older lease, announced late,
from the end of the current one); the ``lease`` and ``release`` calls and
every refusal are in the command journal like any other command.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

from controlroom.rpc.access import ADMIN, READ, Caller, Forbidden
from controlroom.rpc.tasks import TaskError, TaskHandle
from controlroom.wire import Envelope

log = logging.getLogger(__name__)

MIN_LEASE_S: Final = 1.0
MAX_LEASE_S: Final = 86400.0
# Commands that check the lease themselves: a non-holder's `lease` must say who holds
# it, and an admin's `release(force=True)` must reach the lease to break it.
LEASE_COMMANDS: Final = frozenset({"lease", "release"})
TAKEN: Final = "lease_taken"
RELEASED: Final = "lease_released"
EXPIRED: Final = "lease_expired"
BROKEN: Final = "lease_broken"

Notify = Callable[[str, dict[str, Any]], None]
Schedule = Callable[..., TaskHandle]  # TaskScheduler.schedule


class LeaseHeld(Forbidden):
    """Another caller holds the lease of this server (a PermissionError on the client)."""


def utc_text(seconds: float) -> str:
    """``seconds`` since the epoch as ``2024-05-01T12:00:00Z``."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checked_seconds(seconds: object) -> float:
    """``seconds`` as a float if it is a lease length the server grants, else ValueError."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        value = float(seconds)
        if MIN_LEASE_S <= value <= MAX_LEASE_S:  # NaN fails both comparisons
            return value
    raise ValueError(f"a lease lasts {MIN_LEASE_S:g} to {MAX_LEASE_S:g} seconds, not {seconds!r}")


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a server, and until when (wall clock for people, monotonic for expiry)."""

    serial: int  # which lease of this server: a renewal keeps it, a new lease does not
    holder: Caller
    until: float  # UTC seconds
    deadline: float  # time.monotonic() at which it ends
    taken: float  # UTC seconds
    renewals: int = 0

    def held_by(self, caller: Caller) -> bool:
        """The same person through the same key (the bridge they came by does not matter)."""
        return (caller.key, caller.user) == (self.holder.key, self.holder.user)

    def describe(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "holder": self.holder.identity,
            "until": utc_text(self.until),
            "until_s": self.until,
            "remaining_s": max(0.0, self.deadline - time.monotonic()),
            "taken": utc_text(self.taken),
            "renewals": self.renewals,
        }


class Leases:
    """The lease of control server ``server``: at most one holder at a time."""

    def __init__(self, server: str, notify: Notify, schedule: Schedule | None = None) -> None:
        self.server = server
        self.notify = notify
        self.schedule = schedule
        # Core services (registry, storage, ...) serve every process of the lab: one
        # operator's lease there would stop the others' heartbeats and rows.
        self.leasable = True
        # Stop, abort and the like: a commander who does not hold the lease may still stop
        # a device, as on a console's stop button. Set by the server (its interrupting commands).
        self.exempt: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        self._serials = itertools.count(1)
        self._watch: tuple[int, TaskHandle] | None = None  # the expiry task, by lease serial

    def current(self) -> Lease | None:
        """The valid lease, if any; one found past its end is dropped and announced here."""
        with self._lock:
            expired = self._drop_expired()
            lease = self._lease
        if expired is not None:
            self._ended(EXPIRED, expired)
        return lease

    def status(self) -> dict[str, Any] | None:
        lease = self.current()
        return None if lease is None else lease.describe()

    def take(self, caller: Caller, seconds: object) -> Lease:
        """Take the lease for ``seconds``, or renew it for its holder; LeaseHeld for others."""
        length = checked_seconds(seconds)
        if not self.leasable:
            raise Forbidden(f"{self.server} serves the whole lab and cannot be leased")
        wall, now = time.time(), time.monotonic()
        with self._lock:
            expired = self._drop_expired()
            held = self._lease
            if held is not None and not held.held_by(caller):
                raise self.held(held)
            if held is None:
                lease = Lease(next(self._serials), caller, wall + length, now + length, wall)
            else:
                lease = replace(
                    held, until=wall + length, deadline=now + length, renewals=held.renewals + 1
                )
            self._lease = lease
        if expired is not None:
            self._ended(EXPIRED, expired)
        if held is None:
            log.info("%s: %s (%s for %g s)", self.server, TAKEN, caller.identity, length)
            self._announce(TAKEN, lease)
            self._watch_expiry(lease, length)
        return lease

    def release(self, caller: Caller, force: object = False) -> bool:
        """End the lease: its holder may, an admin may break it with ``force``; False if none."""
        if not isinstance(force, bool):
            raise TypeError(f"force must be true or false, not {force!r}")
        with self._lock:
            expired = self._drop_expired()
            lease = self._lease
            if lease is not None and not lease.held_by(caller):
                if not force:
                    raise self.held(lease)
                if not caller.may(ADMIN, self.server):
                    raise Forbidden(
                        f"{caller.identity} may not break the lease of {lease.holder.identity} "
                        f"on {self.server}: it needs the admin role"
                    )
            self._lease = None
        if expired is not None:
            self._ended(EXPIRED, expired)
        if lease is None:
            return False
        if lease.held_by(caller):
            self._ended(RELEASED, lease)
        else:
            self._ended(BROKEN, lease, by=caller)
        return True

    def guard(self, caller: Caller, env: Envelope, access: str) -> None:
        """A dispatcher guard: refuse commands from anyone but the holder of a valid lease."""
        if access == READ or env.command in LEASE_COMMANDS or env.command in self.exempt:
            return
        lease = self.current()
        # The dispatcher checked the role first: an admin command comes from an admin.
        if lease is None or lease.held_by(caller) or access == ADMIN:
            return
        raise self.held(lease)

    def held(self, lease: Lease) -> LeaseHeld:
        return LeaseHeld(
            f"{self.server} is leased by {lease.holder.identity} until {utc_text(lease.until)}"
        )

    # -- expiry ---------------------------------------------------------------------

    def _drop_expired(self) -> Lease | None:
        """The lease, if it has just run out (now dropped); the caller holds the lock."""
        lease = self._lease
        if lease is None or time.monotonic() < lease.deadline:
            return None
        self._lease = None
        return lease

    def _watch_expiry(self, lease: Lease, length: float) -> None:
        """Announce the end of ``lease`` when it comes, even if no call arrives to see it."""
        if self.schedule is None:
            return
        try:
            watch = self.schedule(
                self.current,  # drops and announces the expired lease
                after_s=length,
                when=lambda: self._past(lease),
                name=f"lease of {lease.holder.identity}",
            )
        except TaskError:  # the server is stopping: calls still see the expiry
            return
        with self._lock:
            self._watch = (lease.serial, watch)

    def _past(self, lease: Lease) -> bool:
        """Whether ``lease`` has ended (renewed: not yet; released or replaced: yes)."""
        current = self._lease
        if current is None or current.serial != lease.serial:
            return True
        return time.monotonic() >= current.deadline

    def _ended(self, event: str, lease: Lease, by: Caller | None = None) -> None:
        with self._lock:
            watch = None
            if self._watch is not None and self._watch[0] == lease.serial:
                watch, self._watch = self._watch[1], None
        # A watch that is running is the one announcing this expiry: it ends by itself.
        if watch is not None and watch.is_waiting():
            watch.cancel()
        details = {} if by is None else {"by": by.identity}
        log.info("%s: %s (%s)", self.server, event, lease.holder.identity)
        self._announce(event, lease, **details)

    def _announce(self, event: str, lease: Lease, **details: str) -> None:
        self.notify(event, {"server": self.server, **lease.describe(), **details})
