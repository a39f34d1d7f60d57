"""Names, registrations and batch checks that every backend shares, and their base class.

`BackendBase` does, once for all backends, what the contract of
`controlroom.storage.backend` asks around the medium: plan a registration and
know it only once the medium has it, check a whole batch before any of it is
written, check the columns a query names. Each backend writes and reads its
medium in the ``_store_*``, ``_latest`` and ``_range`` hooks. A batch comes as
`Row` objects (``append``) or as a `Table` (``append_table``: the shape the
storage manager receives, checked a column at a time); a backend that stores
scalars writes both in ``_store_lines``.

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

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from controlroom.storage.backend import RESERVED, Row
from controlroom.storage.errors import (
    InvalidNameError,
    InvalidRowsError,
    UnknownColumnError,
    UnknownOriginError,
)
from controlroom.storage.table import Lines, Table, check_table
from controlroom.storage.values import SAFE_NAME, check_fixed, check_obsid, scalars, to_scalar

__all__ = [
    "BackendBase",
    "Registrations",
    "Span",
    "check_column",
    "check_obsid",
    "check_origin",
    "scalars",
    "to_scalar",
]

Batched = tuple[str, Lines, list[str]]
"""A checked batch: origin, lines, the origin's registered columns."""

_MAX_COLUMN = 128
_RESERVED_FOLDED = {r.casefold() for r in RESERVED}


def check_origin(origin: object) -> str:
    """``origin`` if it is a valid origin name, else `InvalidNameError`."""
    if not isinstance(origin, str) or not SAFE_NAME.match(origin):
        raise InvalidNameError(f"origin {origin!r}: use 1-64 of A-Z a-z 0-9 _ . - (not first)")
    return origin


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
            check_fixed(origin, row.timestamp, row.setup_id, row.obsid)
            if not known.issuperset(row.values):
                unknown = sorted(set(row.values) - known)
                raise UnknownColumnError(f"{origin}: not registered: {unknown}")


@dataclass(frozen=True)
class Span:
    """The rows a range query asks for: ``since <= timestamp < until``, at most ``limit``."""

    since: float | None = None
    until: float | None = None
    limit: int | None = None


class BackendBase(ABC):
    """The `Backend` interface on top of `Registrations`; see the module docstring."""

    scalars_only = True
    """Values must be scalars (HDF5 says False: it takes arrays and packets, checked itself)."""
    stores_together = False
    """``_store_together`` writes several batches as one, all or nothing."""

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

    def append_table(self, origin: str, table: Table) -> None:
        """Store the rows of ``table`` (see `controlroom.storage.table`); return once durable."""
        columns = self._registrations.columns(origin)
        lines = check_table(origin, table, columns, scalars_only=self.scalars_only)
        self._store_lines(origin, lines, columns)

    def append_tables(self, tables: Sequence[tuple[str, Table]]) -> list[Exception | None]:
        """Store several tables, in one write where the medium can; each one's outcome.

        None says a table is durable, an exception that it is not (nothing of
        it stored). Where the backend writes tables together
        (``stores_together``: one transaction, one fsync per file) they share
        one outcome, except that a table the medium refuses is found by
        writing each alone, so that it never takes the others with it.
        """
        outcomes: list[Exception | None] = [None] * len(tables)
        checked: list[tuple[int, Batched]] = []
        for i, (origin, table) in enumerate(tables):
            try:
                columns = self._registrations.columns(origin)
                lines = check_table(origin, table, columns, scalars_only=self.scalars_only)
            except InvalidRowsError as exc:
                outcomes[i] = exc
                continue
            checked.append((i, (origin, lines, columns)))
        if self.stores_together and len(checked) > 1:
            try:
                self._store_together([batch for _, batch in checked])
                return outcomes
            except InvalidRowsError:
                pass  # the medium cannot hold something: each table alone tells which
            except Exception as exc:
                for i, _ in checked:
                    outcomes[i] = exc
                return outcomes
        for i, batch in checked:
            try:
                self._store_lines(*batch)
            except Exception as exc:
                outcomes[i] = exc
        return outcomes

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

    def _store_together(self, batches: Sequence[Batched]) -> None:
        """Write several checked batches in one go, all or nothing (``stores_together``)."""
        raise NotImplementedError(f"{type(self).__name__} writes batches one at a time")

    def _store_lines(self, origin: str, lines: Lines, columns: list[str]) -> None:
        """Write checked ``lines`` (a table's rows in the order of ``columns``); once durable.

        By default as `Row` objects through ``_store_rows``; backends of scalars
        write lines directly (and rows as lines).
        """
        self._store_rows(origin, Table(columns, lines.rows).to_rows(), columns)

    @abstractmethod
    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The last row with ``columns`` (and a value for ``name``, its one column)."""

    @abstractmethod
    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span`` with ``columns``, in time order (ties in append order)."""
