"""Failed logins, counted per user name and per client address, with growing lockouts.

A name (or an address) may fail ``failures_per_user`` (``failures_per_address``)
times freely; after that it is locked for ``first_lockout_s``, doubling with
each further failure up to ``max_lockout_s``. While locked every attempt is
refused before its password is checked, the right password too (a lock that
let the right password through would tell a guesser when it was right).
Attempts under way count as failures until they end, so a burst of parallel
guesses gets no more than the free ones; once those are spent, attempts are
taken one at a time. A successful login clears its user name; its address keeps its failures (a
user with a valid account must not be able to wipe the record of the guesses
made from the same machine).

Both tables are bounded: an entry is forgotten ``2 * max_lockout_s`` after
its last attempt, and beyond ``capacity`` entries the least recently tried
one goes, so spraying user names cannot grow memory without bound.

Used from the event loop only (the login route), hence no lock.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

log = logging.getLogger(__name__)

Clock = Callable[[], float]
CAPACITY = 10_000  # entries per table; a few hundred bytes each


@dataclass(frozen=True)
class Lockout:
    """Why an attempt is refused, and how long to wait (whole seconds, the Retry-After)."""

    reason: str  # "user name" or "address"
    retry_after_s: int

    def message(self) -> str:
        return f"too many failed logins for this {self.reason}: try again in {self.retry_after_s} s"


@dataclass
class _Record:
    touched: float  # last attempt begun or ended: the table's order
    failures: int = 0
    last_failure: float = 0.0
    in_flight: int = 0


@dataclass(eq=False)
class FailureTable:
    """Failed logins per key (a user name or an address), bounded: least recently tried go first."""

    reason: str
    _: KW_ONLY
    allowed: int
    first_lockout_s: float
    max_lockout_s: float
    capacity: int
    clock: Clock
    # Least recently tried first; an attempt moves its key to the end.
    _records: OrderedDict[str, _Record] = field(default_factory=OrderedDict, init=False, repr=False)

    def lockout(self, key: str) -> Lockout | None:
        """Why ``key`` may not try now; None when it may."""
        record = self._records.get(key)
        if record is None or record.failures + record.in_flight < self.allowed:
            return None  # free failures left, counting the attempts under way as failures
        wait_s = 0.0
        if record.failures >= self.allowed:
            wait_s = self._locked_until(record) - self.clock()
        if wait_s <= 0:
            if record.in_flight == 0:
                return None
            wait_s = self.first_lockout_s  # the attempt under way decides the next lockout
        return Lockout(self.reason, max(1, math.ceil(wait_s)))

    def begin(self, key: str) -> None:
        """An attempt for ``key`` starts (its password is being checked)."""
        self._record(key).in_flight += 1

    def end(self, key: str, *, failed: bool, clear: bool = False) -> None:
        """The attempt for ``key`` is over; ``clear`` forgets its failures."""
        record = self._record(key)
        record.in_flight = max(0, record.in_flight - 1)
        if clear:
            record.failures = 0
            if record.in_flight == 0:
                del self._records[key]
        elif failed:
            record.failures += 1
            record.last_failure = self.clock()
            if record.failures >= self.allowed:
                log.warning(
                    "web panel: %d failed logins for %s %r: locked for %.0f s",
                    record.failures,
                    self.reason,
                    key,
                    self._locked_until(record) - record.last_failure,
                )

    def __len__(self) -> int:
        return len(self._records)

    def _locked_until(self, record: _Record) -> float:
        beyond = record.failures - self.allowed
        lockout_s = min(self.first_lockout_s * 2.0 ** min(beyond, 64), self.max_lockout_s)
        return record.last_failure + lockout_s

    def _record(self, key: str) -> _Record:
        now = self.clock()
        self._forget_before(now - 2 * self.max_lockout_s)
        record = self._records.get(key)
        if record is None:
            while len(self._records) >= self.capacity:
                self._records.popitem(last=False)
            record = self._records[key] = _Record(touched=now)
        record.touched = now
        self._records.move_to_end(key)
        return record

    def _forget_before(self, horizon: float) -> None:
        # A lockout ends at most max_lockout_s after the last failure: nothing
        # forgotten here is still locked.
        while self._records:
            record = next(iter(self._records.values()))
            if record.touched > horizon or record.in_flight:
                return
            self._records.popitem(last=False)


class LoginThrottle:
    """The two tables a login attempt passes: its user name and its client address."""

    def __init__(
        self,
        *,
        failures_per_user: int,
        failures_per_address: int,
        first_lockout_s: float,
        max_lockout_s: float,
        capacity: int = CAPACITY,
        clock: Clock = time.time,
    ) -> None:
        def table(reason: str, allowed: int) -> FailureTable:
            return FailureTable(
                reason,
                allowed=allowed,
                first_lockout_s=first_lockout_s,
                max_lockout_s=max_lockout_s,
                capacity=capacity,
                clock=clock,
            )

        self.users = table("user name", failures_per_user)
        self.addresses = table("address", failures_per_address)

    def admit(self, user: str, address: str) -> Lockout | None:
        """Why this attempt is refused, or None: then it is under way until :meth:`settle`."""
        lockout = self.addresses.lockout(address) or self.users.lockout(user)
        if lockout is None:
            self.users.begin(user)
            self.addresses.begin(address)
        return lockout

    def settle(self, user: str, address: str, *, succeeded: bool) -> None:
        """The admitted attempt is over: a failure counts, a success clears the user name."""
        self.users.end(user, failed=not succeeded, clear=succeeded)
        self.addresses.end(address, failed=not succeeded)

    def entries(self) -> int:
        """Entries held in both tables."""
        return len(self.users) + len(self.addresses)
