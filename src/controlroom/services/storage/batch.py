"""One batch as the storage manager handles it: an origin, its columns, its rows packed or not.

A sender sends a batch as a table (`controlroom.storage.table`): the column
names once and the rows packed, the msgpack bytes of a list of ``[timestamp,
setup_id, obsid, *values]`` (``store_packed``). The manager does not unpack
them: each backend process does, and checks them, so the manager's own
interpreter spends nothing per row. A :class:`Batch` unpacks its rows only
where they are needed in this process: for a backend on a thread here, and for
the fingerprints of rows that must not be stored twice (:mod:`.unacked`). A
batch of ``{timestamp, values, setup_id, obsid}`` maps (``store``) becomes a
table here at once.

A sender makes its table with :func:`table_of`. Whatever cannot be a table
of rows (bytes that are not msgpack, rows of the wrong shape) is refused:
``RowsRefused`` here, `InvalidRowsError` in a backend.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

import msgpack

from controlroom import wire
from controlroom.services.storage.errors import RowsRefused
from controlroom.services.storage.rowqueue import QueuedRow
from controlroom.storage import Backend, InvalidRowsError, Row, Table, TableBackend


class Batch:
    """The rows of ``origin`` under ``columns``: ``count`` of them, packed or as a table."""

    def __init__(
        self,
        origin: str,
        columns: Sequence[str],
        *,
        packed: bytes | None = None,
        table: Table | None = None,
    ) -> None:
        if not isinstance(columns, list | tuple) or not all(isinstance(c, str) for c in columns):
            raise RowsRefused(f"columns must be a list of names, not {columns!r:.80}")
        self.origin = origin
        self.columns = list(columns)
        self.packed = packed
        self._table = table
        self._lock = threading.Lock()  # two backend threads may want the table at once
        self.count = len(table.rows) if table is not None else _row_count(packed)

    @classmethod
    def of_table(cls, origin: str, table: Table) -> Batch:
        return cls(origin, table.columns, table=table)

    @classmethod
    def of_maps(cls, origin: str, rows: Sequence[Any]) -> Batch:
        """A batch of ``{timestamp, values, setup_id, obsid}`` maps (the ``store`` command)."""
        return cls.of_table(origin, Table.of_rows(decode_rows(rows)))

    def table(self) -> Table:
        """The rows as a table (unpacked on first use); `InvalidRowsError` if they are not."""
        with self._lock:
            if self._table is None:
                self._table = Table(self.columns, unpack_rows(self.packed or b""))
            return self._table


def table_of(
    items: Sequence[QueuedRow], encoded: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[list[Any]]]:
    """A sender's rows (``items``, their values ``encoded``) as a table's columns and rows.

    A control server's samples nearly always have the same names in the same
    order: then a row is its values as they are, and only a change of names
    costs a look-up per column. Rows without some column get None there.
    """
    index: dict[str, int] = {}
    names: list[str] = []
    rows: list[list[Any]] = []
    last: tuple[str, ...] | None = None
    in_order = False
    for item, values in zip(items, encoded, strict=True):
        keys = tuple(values)
        if keys != last:
            for key in keys:
                index.setdefault(key, len(index))
            names, last = list(index), keys
            in_order = names[: len(keys)] == list(keys)
        row = [item.timestamp, item.setup_id, item.obsid]
        row.extend(values.values() if in_order else map(values.get, names))
        rows.append(row)
    width = 3 + len(index)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return list(index), rows


def _row_count(packed: bytes | None) -> int:
    """How many rows ``packed`` holds, read from its header alone (the rest stays packed)."""
    if not isinstance(packed, bytes):
        raise RowsRefused(f"packed rows must be bytes, not {type(packed).__name__}")
    unpacker = msgpack.Unpacker()
    unpacker.feed(packed[:5])  # an array header is at most 5 bytes
    try:
        return int(unpacker.read_array_header())
    except (ValueError, msgpack.OutOfData) as exc:
        raise RowsRefused(f"packed rows must be a msgpack list of rows ({exc})") from None


def unpack_rows(packed: bytes) -> list[Any]:
    """The rows of a packed table, as the wire codec reads them; `InvalidRowsError` if no list."""
    try:
        rows = wire.unpack([packed])
    except wire.MalformedFrame as exc:
        raise InvalidRowsError(f"packed rows: {exc}") from None
    if not isinstance(rows, list):
        raise InvalidRowsError(f"packed rows must be a list, not {type(rows).__name__}")
    return rows


@functools.cache
def _takes_tables(kind: type) -> bool:
    # A protocol check looks at every method: once per class, not once per batch.
    return issubclass(kind, TableBackend)


def store_table(backend: Backend, origin: str, table: Table) -> None:
    """``append_table`` where the backend has it, else ``append`` of the table's rows."""
    if _takes_tables(type(backend)):
        cast(TableBackend, backend).append_table(origin, table)
    else:
        backend.append(origin, table.to_rows())


def store_tables(backend: Backend, tables: Sequence[tuple[str, Table]]) -> list[Exception | None]:
    """``append_tables`` where the backend has it, else each table alone; the outcomes."""
    if _takes_tables(type(backend)):
        return cast(TableBackend, backend).append_tables(tables)
    outcomes: list[Exception | None] = []
    for origin, table in tables:
        try:
            store_table(backend, origin, table)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


def decode_rows(batch: Sequence[Any]) -> list[Row]:
    """Rows from ``{timestamp, values, setup_id, obsid}`` maps; RowsRefused if malformed."""
    if not isinstance(batch, list | tuple):
        raise RowsRefused(f"rows must be a list, not {type(batch).__name__}")
    try:
        rows = [
            Row(item["timestamp"], item["values"], item.get("setup_id"), item.get("obsid"))
            for item in batch
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise RowsRefused(
            f"each row is a map {{timestamp, values, setup_id, obsid}} ({exc!r})"
        ) from None
    for row in rows:  # the backends check the rest: names, types, timestamps
        if not isinstance(row.values, Mapping):
            raise RowsRefused(f"values must be a map, not {type(row.values).__name__}")
    return rows
