"""Names, registrations and batch checks that every backend shares, and their base class.

`BackendBase` does, once for all backends, what the contract of
`controlroom.storage.backend` asks around the medium: plan a registration and
know it only once the medium has it, check a whole batch before any of it is
written, check the columns a query names. Each backend writes and reads its
medium in the ``_store_*``, ``_latest`` and ``_range`` hooks.

The rules are the same everywhere so that a configuration that works on CSV
also works on SQLite or HDF5:

- an origin (and an obsid) is 1-64 characters of letters, digits, ``_ . -``,
  starting with a letter or digit: both end up in file names;
- a column is 1-128 characters without control characters or ``/`` (an HDF5
  path separator), not ``.`` or ``..``, not one of the fixed fields ``timestamp``, ``setup_id``,
  ``obsid``; unicode is fine;
- names that differ only in case collide (SQLite identifiers and
  case-insensitive file systems would merge them), so they are refused.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.storage.backend import RESERVED, Row, Scalar
from controlroom.storage.errors import (
    InvalidNameError,
    UnknownColumnError,
    UnknownOriginError,
    ValueTypeError,
)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_MAX_COLUMN = 128
_RESERVED_FOLDED = {r.casefold() for r in RESERVED}
_EXACT_SCALARS = {float, int, str, bool, type(None)}
_LAST_STAMP = 253_402_300_800  # 10000-01-01 UTC: calendar dates (file names) end there


def check_origin(origin: object) -> str:
    """``origin`` if it is a valid origin name, else `InvalidNameError`."""
    if not isinstance(origin, str) or not _SAFE_NAME.match(origin):
        raise InvalidNameError(f"origin {origin!r}: use 1-64 of A-Z a-z 0-9 _ . - (not first)")
    return origin


def check_obsid(obsid: object) -> None:
    """Refuse an obsid that could not name a folder."""
    if obsid is not None and (not isinstance(obsid, str) or not _SAFE_NAME.match(obsid)):
        raise InvalidNameError(f"obsid {obsid!r}: use 1-64 of A-Z a-z 0-9 _ . - (not first)")


def check_column(name: object) -> str:
    """``name`` if it is a valid column name, else `InvalidNameError`."""
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_COLUMN:
        raise InvalidNameError(f"column {name!r}: a name of 1-{_MAX_COLUMN} characters")
    if "/" in name or name in (".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidNameError(f"column {name!r}: no '/', no control characters, not . or ..")
    if name.casefold() in _RESERVED_FOLDED:
        raise InvalidNameError(f"column {name!r}: reserved for the fixed fields {RESERVED}")
    return name


class Registrations:
    """Origins and their columns, in registration order (kept in memory by each backend)."""

    def __init__(self, known: Mapping[str, Sequence[str]] | None = None) -> None:
        self._columns: dict[str, list[str]] = {}
        self._sets: dict[str, frozenset[str]] = {}
        for origin, columns in (known or {}).items():
            self.add(origin, list(columns))

    def plan(self, origin: str, columns: Iterable[str]) -> tuple[bool, list[str]]:
        """(is the origin new, which columns are new) for ``register(origin, columns)``."""
        check_origin(origin)
        new_origin = origin not in self._columns
        if new_origin and any(o.casefold() == origin.casefold() for o in self._columns):
            raise InvalidNameError(f"origin {origin!r} differs only in case from another")
        existing = self._columns.get(origin, [])
        folded = {c.casefold(): c for c in existing}
        new: list[str] = []
        for name in columns:
            check_column(name)
            same = folded.setdefault(name.casefold(), name)
            if same != name:
                raise InvalidNameError(
                    f"{origin}: column {name!r} differs only in case from {same!r}"
                )
            if name not in existing and name not in new:
                new.append(name)
        return new_origin, new

    def add(self, origin: str, columns: Sequence[str]) -> None:
        """Record ``columns`` (already planned) as registered for ``origin``."""
        self._columns.setdefault(origin, []).extend(columns)
        self._sets[origin] = frozenset(self._columns[origin])

    def origins(self) -> list[str]:
        """The registered origins, in registration order."""
        return list(self._columns)

    def columns(self, origin: str) -> list[str]:
        """The columns of ``origin``; `UnknownOriginError` when it is not registered."""
        try:
            return list(self._columns[origin])
        except KeyError:
            raise UnknownOriginError(f"origin {origin!r} is not registered") from None

    def select(self, origin: str, names: Sequence[str] | None) -> list[str]:
        """The columns a query asked for (all when ``names`` is None), checked."""
        columns = self.columns(origin)
        if names is None:
            return columns
        unknown = [n for n in names if n not in self._sets[origin]]
        if unknown:
            raise UnknownColumnError(f"{origin}: no column(s) {unknown}")
        return list(names)

    def check_batch(self, origin: str, rows: Sequence[Row]) -> None:
        """Refuse the whole batch when any row is malformed or names an unknown column."""
        self.columns(origin)
        known = self._sets[origin]
        for row in rows:
            stamp = row.timestamp
            if isinstance(stamp, bool) or not isinstance(stamp, (float, int)):
                raise ValueTypeError(f"{origin}: timestamp {stamp!r} is not a number")
            if not (math.isfinite(stamp) and 0 <= stamp < _LAST_STAMP):
                raise ValueTypeError(f"{origin}: timestamp {stamp!r} is not in 1970-9999")
            if row.setup_id is not None and type(row.setup_id) is not int:
                raise ValueTypeError(f"{origin}: setup_id {row.setup_id!r} is not an int")
            check_obsid(row.obsid)
            if not known.issuperset(row.values):
                unknown = sorted(set(row.values) - known)
                raise UnknownColumnError(f"{origin}: not registered: {unknown}")


def scalars(values: Mapping[str, Any], columns: Sequence[str]) -> list[Scalar]:
    """The values of ``columns`` in order (missing ones None), each made a plain scalar."""
    out = [values.get(c) for c in columns]
    for i, value in enumerate(out):
        if type(value) not in _EXACT_SCALARS:
            out[i] = to_scalar(value)
    return out


def to_scalar(value: object) -> Scalar:
    """A plain Python scalar for ``value`` (numpy scalars unwrapped), or `ValueTypeError`."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()  # a numpy scalar: its Python equivalent
    for kind in (bool, int, float, str):  # bool first: it is an int too
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    raise ValueTypeError(f"{type(value).__name__} is not a storable scalar: {value!r:.60}")


@dataclass(frozen=True)
class Span:
    """The rows a range query asks for: ``since <= timestamp < until``, at most ``limit``."""

    since: float | None = None
    until: float | None = None
    limit: int | None = None


class BackendBase(ABC):
    """The `Backend` interface on top of `Registrations`; see the module docstring."""

    def __init__(self, known: Mapping[str, Sequence[str]]) -> None:
        self._registrations = Registrations(known)

    def register(self, origin: str, columns: Sequence[str]) -> None:
        """Declare ``origin`` with ``columns`` (again: no-op; more columns: extend)."""
        new_origin, new = self._registrations.plan(origin, columns)
        if new_origin or new:
            # Stored first: a registration the medium did not take must be tried again.
            self._store_registration(origin, new_origin, new)
            self._registrations.add(origin, new)

    def append(self, origin: str, rows: Sequence[Row]) -> None:
        """Store ``rows`` of ``origin``; return once they are durable."""
        self._registrations.check_batch(origin, rows)
        self._store_rows(origin, rows, self._registrations.columns(origin))

    def latest(self, origin: str, name: str | None = None) -> Row | None:
        """The last row of ``origin`` (with a value for ``name``), or None."""
        columns = self._registrations.select(origin, None if name is None else [name])
        return self._latest(origin, columns, name)

    def range(
        self,
        origin: str,
        names: Sequence[str] | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Row]:
        """Rows with ``since <= timestamp < until``, in time order, at most ``limit``."""
        columns = self._registrations.select(origin, names)
        return self._range(origin, columns, Span(since, until, limit))

    def origins(self) -> list[str]:
        """The registered origins, in registration order."""
        return self._registrations.origins()

    def columns(self, origin: str) -> list[str]:
        """The columns of ``origin``, in registration order."""
        return self._registrations.columns(origin)

    @abstractmethod
    def close(self) -> None:
        """Release files and connections; closing twice is harmless."""

    @abstractmethod
    def _store_registration(self, origin: str, new_origin: bool, new: list[str]) -> None:
        """Make the medium know ``new`` columns of ``origin`` (a new one when ``new_origin``)."""

    @abstractmethod
    def _store_rows(self, origin: str, rows: Sequence[Row], columns: list[str]) -> None:
        """Write ``rows`` (checked) under the registered ``columns``; return once durable."""

    @abstractmethod
    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The last row with ``columns`` (and a value for ``name``, its one column)."""

    @abstractmethod
    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span`` with ``columns``, in time order (ties in append order)."""
