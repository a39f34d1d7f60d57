"""Batches as tables: the column names once, then each row as a list of its fields.

A :class:`Table` is the shape a batch has on the wire and in a database
insert: ``columns`` names the values, and each row is ``[timestamp, setup_id,
obsid, one value per column...]`` (None where the row has no value). Backends
take one through ``append_table`` (`BackendBase`), which checks it with
:func:`check_table`: the rules of `Registrations.check_batch`, applied column
by column over the whole batch (the set of the value types, the range of the
timestamps, the distinct Setup ids and obsids). That costs a small part of
checking each row on its own, and it is why a storage manager can keep pace
with its backends. A batch that fails the quick look is checked row by row, so
that the error names the value at fault.

What comes out is :class:`Lines`: the rows in the registered column order,
each value a plain scalar, ready for an ``executemany`` or a CSV writer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from controlroom.storage.backend import Row
from controlroom.storage.errors import InvalidNameError, InvalidRowsError, UnknownColumnError
from controlroom.storage.values import (
    LAST_STAMP,
    SCALAR_TYPES,
    check_fixed,
    check_obsid,
    scalars,
    to_scalar,
)

FIXED_FIELDS = 3
"""Fields before the values in a row: timestamp, setup_id, obsid."""

_NUMBERS = frozenset({float, int})
_NUMERIC = frozenset({float, int, bool})
_SETUP_TYPES = frozenset({int, type(None)})
_OBSID_TYPES = frozenset({str, type(None)})


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of one origin as lists: ``[timestamp, setup_id, obsid, *values]`` under ``columns``."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of_rows(cls, rows: Iterable[Row]) -> Table:
        """The table of ``rows``: every name any of them has, in order of first appearance."""
        rows = list(rows)
        columns = list(dict.fromkeys(name for row in rows for name in row.values))
        return cls(
            columns,
            [[r.timestamp, r.setup_id, r.obsid, *map(r.values.get, columns)] for r in rows],
        )

    def to_rows(self) -> list[Row]:
        """The rows as `Row` objects, each with every column (None where it had no value)."""
        names = _names(self.columns)
        rows = _shaped(self.rows, FIXED_FIELDS + len(names))
        return [
            Row(r[0], dict(zip(names, r[FIXED_FIELDS:], strict=True)), r[1], r[2]) for r in rows
        ]


@dataclass(frozen=True, slots=True)
class Lines:
    """A checked batch: ``[timestamp, setup_id, obsid, *values]`` in the registered order."""

    rows: Sequence[Sequence[Any]]
    numeric: bool = False
    """Every value is a float, an int or a bool: no text to quote, no gaps."""


def lines_of(rows: Sequence[Row], columns: Sequence[str]) -> Lines:
    """`Lines` of rows that `Registrations.check_batch` passed (values made plain scalars)."""
    return Lines([[r.timestamp, r.setup_id, r.obsid, *scalars(r.values, columns)] for r in rows])


def check_table(
    origin: str, table: Table, registered: Sequence[str], *, scalars_only: bool = True
) -> Lines:
    """``table`` checked against ``origin``'s ``registered`` columns, in their order.

    Raises an `InvalidRowsError` (a bad shape, an unknown column, a timestamp,
    Setup id, obsid or value that can never be stored) and stores nothing.
    ``scalars_only`` False leaves values that are not scalars to the backend
    (HDF5 takes arrays and packets and checks them itself).
    """
    names = _names(table.columns)
    unknown = sorted(set(names).difference(registered))
    if unknown:
        raise UnknownColumnError(f"{origin}: not registered: {unknown}")
    rows = _shaped(table.rows, FIXED_FIELDS + len(names))
    if not rows:
        return Lines([], numeric=True)
    fields = list(zip(*rows, strict=True))
    value_types = set(map(type, chain.from_iterable(fields[FIXED_FIELDS:])))
    if _fixed_fields_fine(fields) and value_types <= SCALAR_TYPES:
        lines: Sequence[Sequence[Any]] = rows
        numeric = value_types <= _NUMERIC
    else:
        lines = [_checked_row(origin, row, scalars_only) for row in rows]
        numeric = False
    if list(names) == list(registered):
        return Lines(lines, numeric)
    return Lines(_aligned(lines, names, registered), numeric and set(names) == set(registered))


def _names(columns: object) -> list[str]:
    if not isinstance(columns, list | tuple) or not all(isinstance(n, str) for n in columns):
        raise InvalidNameError(f"columns must be a list of names, not {columns!r:.80}")
    if len(set(columns)) != len(columns):
        raise InvalidNameError(f"a column is named twice in {list(columns)!r:.200}")
    return list(columns)


def _shaped(rows: object, width: int) -> Sequence[Sequence[Any]]:
    """``rows`` if it is a list of lists of ``width`` fields each."""
    if not isinstance(rows, list | tuple):
        raise InvalidRowsError(f"rows must be a list, not {type(rows).__name__}")
    if not set(map(type, rows)) <= {list, tuple}:
        raise InvalidRowsError("each row is a list [timestamp, setup_id, obsid, values...]")
    if rows and set(map(len, rows)) != {width}:
        raise InvalidRowsError(f"each row must have {width} fields: 3 fixed, one per column")
    return rows


def _fixed_fields_fine(fields: list[tuple[Any, ...]]) -> bool:
    """Whether the timestamps, Setup ids and obsids of a whole batch pass, at a glance.

    False sends the batch to the row-by-row check, which says what is wrong.
    """
    stamps, setups, obsids = fields[0], fields[1], fields[2]
    if not set(map(type, stamps)) <= _NUMBERS:
        return False
    try:
        total = sum(stamps)  # a NaN or an infinity anywhere makes it so
    except OverflowError:
        return False
    if not (math.isfinite(total) and min(stamps) >= 0 and max(stamps) < LAST_STAMP):
        return False
    if not set(map(type, setups)) <= _SETUP_TYPES or not set(map(type, obsids)) <= _OBSID_TYPES:
        return False
    for obsid in set(obsids):  # a batch has one or two
        check_obsid(obsid)
    return True


def _checked_row(origin: str, row: Sequence[Any], scalars_only: bool) -> list[Any]:
    check_fixed(origin, row[0], row[1], row[2])
    values = row[FIXED_FIELDS:]
    if scalars_only:
        values = [v if type(v) in SCALAR_TYPES else to_scalar(v) for v in values]
    return [row[0], row[1], row[2], *values]


def _aligned(
    lines: Sequence[Sequence[Any]], names: list[str], registered: Sequence[str]
) -> list[list[Any]]:
    """``lines`` under ``names`` moved to the ``registered`` order (None where absent)."""
    where = {name: FIXED_FIELDS + i for i, name in enumerate(names)}
    positions = [where.get(name) for name in registered]
    return [
        [line[0], line[1], line[2], *(None if p is None else line[p] for p in positions)]
        for line in lines
    ]
