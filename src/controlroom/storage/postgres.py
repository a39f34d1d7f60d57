"""PostgreSQL backend (psycopg 3): housekeeping for facilities that outgrow one machine.

Everything lives in its own schema (``schema``, created if missing)::

    origins (position bigserial, origin text primary key, columns jsonb)
    samples (id bigserial, origin text, ts timestamptz, setup_id int, obsid text, data jsonb)
    index samples (origin, ts, id)

One ``samples`` table with the values as ``jsonb`` rather than a typed table
per origin: the value types are not declared at registration, extending an
origin needs no DDL, each value keeps its JSON type (int, float, str, bool),
and the one ``(origin, ts, id)`` index serves range queries, ``latest`` and
Grafana's ``WHERE origin = 'TEMPCTL' AND $__timeFilter(ts)`` alike (``ts`` is a
``timestamptz``, microseconds). A value that is None is left out of ``data``.
JSON has no NaN or infinities, so those are stored as the strings ``"NaN"``,
``"Infinity"``, ``"-Infinity"``, which ``(data->>'T1')::float8`` reads as
numbers in SQL (a str value spelled exactly so comes back as a float).

A batch is one ``COPY`` in one transaction; ``append`` returns after the
commit, which PostgreSQL makes durable (``synchronous_commit`` on).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from controlroom.storage.backend import Row, Scalar
from controlroom.storage.errors import (
    DENIED,
    DISK_FULL,
    IO_ERROR,
    LOCKED,
    OTHER,
    READ_ONLY,
    UNREACHABLE,
    BackendUnavailableError,
    StorageError,
    ValueTypeError,
)
from controlroom.storage.registrations import BackendBase, Span, scalars
from controlroom.storage.table import Lines, lines_of

SCHEMA_DDL = (
    "CREATE SCHEMA IF NOT EXISTS {s}",
    "CREATE TABLE IF NOT EXISTS {s}.origins ("
    " position bigserial, origin text PRIMARY KEY, columns jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {s}.samples ("
    " id bigserial PRIMARY KEY, origin text NOT NULL, ts timestamptz NOT NULL,"
    " setup_id integer, obsid text, data jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS samples_by_time ON {s}.samples (origin, ts, id)",
)
"""Statements that create the schema (``{s}``) when missing; safe to run every time."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)  # one, not one per row
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class PostgresBackend(BackendBase):
    """Housekeeping in a PostgreSQL schema."""

    def __init__(
        self, conninfo: str = "", schema: str = "controlroom", connect_timeout: int = 10
    ) -> None:
        if not schema:
            raise StorageError("the PostgreSQL schema needs a name")
        self.schema = schema
        self._conninfo, self._connect_timeout = conninfo, connect_timeout
        self._db = self._connect()
        with self._transaction():
            for statement in SCHEMA_DDL:
                self._db.execute(self._sql(statement))
            found = self._db.execute(
                self._sql("SELECT origin, columns FROM {s}.origins ORDER BY position")
            ).fetchall()
        super().__init__({origin: columns for origin, columns in found})

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _store_registration(self, origin: str, new_origin: bool, new: list[str]) -> None:
        """Record ``origin`` and its columns in the ``origins`` table."""
        known = [] if new_origin else self.columns(origin)
        with self._transaction():
            self._db.execute(
                self._sql(
                    "INSERT INTO {s}.origins (origin, columns) VALUES (%s, %s) "
                    "ON CONFLICT (origin) DO UPDATE SET columns = EXCLUDED.columns"
                ),
                (origin, Jsonb([*known, *new])),
            )

    def _store_rows(self, origin: str, rows: Sequence[Row], columns: list[str]) -> None:
        """COPY ``rows`` as lines (their values made plain scalars)."""
        self._store_lines(origin, lines_of(rows, columns), columns)

    def _store_lines(self, origin: str, lines: Lines, columns: list[str]) -> None:
        """COPY ``lines`` into ``samples`` in one transaction; return after the commit."""
        records = [
            (origin, _when(line[0]), line[1], line[2], encode_line(line[3:], columns))
            for line in lines.rows
        ]
        copy = self._sql("COPY {s}.samples (origin, ts, setup_id, obsid, data) FROM STDIN")
        with self._transaction(), self._db.cursor() as cursor, cursor.copy(copy) as stream:
            for record in records:
                stream.write_row(record)

    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The row with the greatest timestamp (with a value for ``name``)."""
        where, args = ("", []) if name is None else ("AND data ? %s", [name])
        rows = self._select(origin, columns, where, args, descending=True, limit=1)
        return rows[0] if rows else None

    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span``, by the (origin, ts) index."""
        where, args = "", []
        if span.since is not None:
            where, args = "AND ts >= %s", [_when(span.since)]
        if span.until is not None:
            where, args = f"{where} AND ts < %s", [*args, _when(span.until)]
        return self._select(origin, columns, where, args, descending=False, limit=span.limit)

    def _select(
        self,
        origin: str,
        columns: list[str],
        where: str,
        args: list[Any],
        *,
        descending: bool,
        limit: int | None,
    ) -> list[Row]:
        """Rows of ``origin`` ordered by (ts, id), newest first if ``descending``."""
        order = "DESC" if descending else "ASC"
        # ``where`` is one of our own fixed fragments; values are %s parameters.
        query = self._sql(
            "SELECT extract(epoch FROM ts)::float8, setup_id, obsid, data "  # noqa: S608
            f"FROM {{s}}.samples WHERE origin = %s {where} ORDER BY ts {order}, id {order} LIMIT %s"
        )
        bound = None if limit is None else max(limit, 0)
        with self._transaction():
            found = self._db.execute(query, [origin, *args, bound]).fetchall()
        return [Row(t, decode_values(d, columns), s, o) for t, s, o, d in found]

    def _sql(self, template: str) -> sql.Composed:
        """``template`` with ``{s}`` replaced by the quoted schema name."""
        return sql.SQL(template).format(s=sql.Identifier(self.schema))

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
            )
        except psycopg.Error as exc:
            raise BackendUnavailableError(
                f"cannot connect to PostgreSQL: {exc}", UNREACHABLE
            ) from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction; psycopg's errors come out as `StorageError` (see `storage_error`)."""
        if self._db.closed:  # lost with the server: connect again once it is back
            self._db = self._connect()
        try:
            with self._db.transaction():
                yield
        except psycopg.Error as exc:
            raise storage_error(exc) from exc


_SQLSTATE_REASONS = {"53100": DISK_FULL, "58030": IO_ERROR, "25006": READ_ONLY, "42501": DENIED}


def storage_error(exc: psycopg.Error) -> StorageError:
    """What a psycopg error means for the rows: never storable, or not stored yet.

    A value the server cannot hold (``DataError``: out of range, a NUL in a
    text) is a `ValueTypeError`; anything else (disk full, server gone, a
    dropped table, a lock) leaves the rows fine but not stored yet.
    """
    if isinstance(exc, psycopg.DataError):
        return ValueTypeError(f"PostgreSQL cannot hold a value: {exc}")
    state = exc.sqlstate or ""
    if state in _SQLSTATE_REASONS:
        reason = _SQLSTATE_REASONS[state]
    elif state.startswith(("55P03", "40")):  # lock not available, deadlock, serialization
        reason = LOCKED
    elif isinstance(exc, psycopg.OperationalError):
        reason = UNREACHABLE
    else:
        reason = OTHER
    return BackendUnavailableError(f"PostgreSQL: {exc}", reason)


def _when(stamp: float) -> datetime:
    """UTC seconds as a datetime for ``timestamptz``; out of range: the far past or future."""
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):
        return (datetime.min if stamp < 0 else datetime.max).replace(tzinfo=UTC)


def encode_values(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The row's values as JSON text for ``data``: None left out, NaN and infinities named."""
    return encode_line(scalars(values, columns), columns)


def encode_line(values: Sequence[Scalar], columns: Sequence[str]) -> str:
    """``encode_values`` of plain scalars in the order of ``columns``."""
    if None not in values:
        try:  # most rows: every value there and finite, encoded in one go
            return _ENCODER.encode(dict(zip(columns, values, strict=True)))
        except ValueError:  # NaN or an infinity
            pass
    kept: dict[str, Scalar] = {}
    for name, value in zip(columns, values, strict=True):
        if type(value) is float and not math.isfinite(value):
            kept[name] = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        elif value is not None:
            kept[name] = value
    return _ENCODER.encode(kept)


def decode_values(data: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Scalar]:
    """The values of ``columns`` from a ``data`` document (absent: None)."""
    found = {name: data.get(name) for name in columns}
    for name, value in found.items():
        if type(value) is str and value in _NON_FINITE:
            found[name] = _NON_FINITE[value]
    return found
