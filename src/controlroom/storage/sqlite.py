"""SQLite backend: the embedded default for queries.

One table per origin, named after it, with the fixed fields ``timestamp``
(REAL, UTC seconds: the float is stored exactly), ``setup_id``, ``obsid`` and
one column per parameter, plus an index on ``timestamp``. A wide table rather
than one long (origin, name, value) table because a housekeeping row is
sampled as a whole: one row of 20 values is one B-tree insert instead of 20,
a range query reads rows as they were taken, and ``SELECT * FROM TEMPCTL``
is what an analyst expects to type. Extending an origin is ``ALTER TABLE ADD
COLUMN``, which SQLite does without rewriting the table. Parameter columns
have no declared type, so SQLite keeps each value's type (int, float, str);
booleans come back as 0/1 and NaN as None (SQLite stores NaN as NULL).
``_origins`` keeps the registration order.

Durability: the database is in WAL mode with ``synchronous=FULL``, and a
batch is one ``executemany`` of one prepared statement (the checked lines of
a table are its parameters as they are) in one transaction, so ``append`` returns after
exactly one fsync of the WAL: an acknowledged batch survives a kill -9 of the
process and a power cut. ``synchronous="NORMAL"`` skips that fsync; it still
survives a kill -9 (the WAL pages are in the operating system's cache) but not
a power cut. Other processes may read the file while it is written (WAL).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from controlroom.storage.backend import OBSID, SETUP_ID, TIMESTAMP, Row
from controlroom.storage.errors import StorageError, ValueTypeError, unavailable
from controlroom.storage.registrations import BackendBase, Batched, Span
from controlroom.storage.table import Lines, lines_of

log = logging.getLogger(__name__)

_FIXED = f"{TIMESTAMP}, {SETUP_ID}, {OBSID}"
_SYNC_MODES = ("FULL", "NORMAL", "EXTRA")


def quote(name: str) -> str:
    """``name`` as an SQL identifier, whatever characters it has."""
    return '"' + name.replace('"', '""') + '"'


def _insert(origin: str, columns: list[str]) -> str:
    """The statement that inserts a row (fixed fields, then ``columns``) of ``origin``."""
    names = ", ".join([_FIXED, *map(quote, columns)])
    marks = ", ".join("?" * (3 + len(columns)))
    return f"INSERT INTO {quote(origin)} ({names}) VALUES ({marks})"  # noqa: S608 (quoted)


class SqliteBackend(BackendBase):
    """Housekeeping in one SQLite database file."""

    def __init__(self, path: str | Path, synchronous: str = "FULL", timeout: float = 30.0) -> None:
        if synchronous.upper() not in _SYNC_MODES:
            raise StorageError(f"synchronous must be one of {_SYNC_MODES}, not {synchronous!r}")
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are the explicit BEGIN/COMMIT of _transaction.
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute("CREATE TABLE IF NOT EXISTS _origins (origin TEXT PRIMARY KEY)")
            super().__init__(self._load())
        except (OSError, sqlite3.Error) as exc:
            raise unavailable(f"cannot open SQLite database {path}", exc) from exc
        self._closed = False
        self._inserts: dict[tuple[str, int], str] = {}

    def close(self) -> None:
        """Close the database (the WAL is checkpointed by SQLite)."""
        if not self._closed:
            self._closed = True
            self._db.close()

    stores_together = True

    def _store_registration(self, origin: str, new_origin: bool, new: list[str]) -> None:
        """Create or extend the table of ``origin``."""
        table = quote(origin)
        with self._transaction():
            if new_origin:
                self._db.execute(
                    f"CREATE TABLE {table} ({TIMESTAMP} REAL NOT NULL, "
                    f"{SETUP_ID} INTEGER, {OBSID} TEXT)"
                )
                self._db.execute(f"CREATE INDEX {quote(origin + ':time')} ON {table} ({TIMESTAMP})")
                self._db.execute("INSERT INTO _origins (origin) VALUES (?)", (origin,))
            for name in new:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {quote(name)}")

    def _store_rows(self, origin: str, rows: Sequence[Row], columns: list[str]) -> None:
        """Insert ``rows`` as lines (their values made plain scalars)."""
        self._store_lines(origin, lines_of(rows, columns), columns)

    def _store_lines(self, origin: str, lines: Lines, columns: list[str]) -> None:
        """Insert ``lines`` in one transaction; return after its commit (fsync'ed)."""
        self._store_together([(origin, lines, columns)])

    def _store_together(self, batches: Sequence[Batched]) -> None:
        """Insert every batch in one transaction: one commit, one fsync of the WAL.

        The lines are the statement's parameters as they are: a table's rows
        already have the fixed fields, then the values in column order.
        """
        with self._transaction():
            for origin, lines, columns in batches:
                self._db.executemany(self._insert(origin, columns), lines.rows)

    def _insert(self, origin: str, columns: list[str]) -> str:
        """The statement that inserts a row of ``origin`` (fixed fields, then ``columns``)."""
        key = (origin, len(columns))  # columns only ever grow at the end
        statement = self._inserts.get(key)
        if statement is None:
            statement = self._inserts[key] = _insert(origin, columns)
        return statement

    def _latest(self, origin: str, columns: list[str], name: str | None) -> Row | None:
        """The row with the greatest timestamp (where ``name`` is not NULL)."""
        where = "" if name is None else f"WHERE {quote(name)} IS NOT NULL"
        rows = self._select(origin, columns, where, [], descending=True, limit=1)
        return rows[0] if rows else None

    def _range(self, origin: str, columns: list[str], span: Span) -> list[Row]:
        """The rows in ``span``, by the time index."""
        tests, args = [], []
        if span.since is not None:
            tests.append(f"{TIMESTAMP} >= ?")
            args.append(float(span.since))
        if span.until is not None:
            tests.append(f"{TIMESTAMP} < ?")
            args.append(float(span.until))
        where = f"WHERE {' AND '.join(tests)}" if tests else ""
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
        """Rows of ``origin`` ordered by (timestamp, insertion), newest first if ``descending``."""
        order = "DESC" if descending else "ASC"
        names = ", ".join([_FIXED, *map(quote, columns)])
        # Identifiers are quoted by quote(), values are ? parameters: nothing is injected.
        sql = (
            f"SELECT {names} FROM {quote(origin)} {where} "  # noqa: S608
            f"ORDER BY {TIMESTAMP} {order}, rowid {order} LIMIT ?"
        )
        try:
            found = self._db.execute(sql, [*args, -1 if limit is None else max(limit, 0)])
            return [Row(t, dict(zip(columns, v, strict=True)), s, o) for t, s, o, *v in found]
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite query on {origin} failed: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction: committed (durably) on success, rolled back on any error.

        A value SQLite can never hold is a `ValueTypeError`; any other SQLite
        error (disk full, I/O error, locked) is `BackendUnavailableError`: the
        rows were checked before, so they are fine and only not stored yet.
        """
        try:
            self._roll_back()  # one an earlier failure could not end
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._roll_back()
                raise
        except OverflowError as exc:
            raise ValueTypeError(f"integer too large for SQLite: {exc}") from exc
        except sqlite3.DataError as exc:
            raise ValueTypeError(f"a value SQLite cannot hold: {exc}") from exc
        except sqlite3.Error as exc:
            raise unavailable(f"SQLite write to {self.path} failed", exc) from exc

    def _roll_back(self) -> None:
        # A failed COMMIT (disk full) may leave the transaction open, or SQLite may
        # have rolled it back itself: either way the next BEGIN must find none open.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning(
                    "SQLite rollback on %s failed (again before the next write): %s", self.path, exc
                )

    def _load(self) -> dict[str, list[str]]:
        """Registrations stored by an earlier run, in registration order."""
        origins = [o for (o,) in self._db.execute("SELECT origin FROM _origins ORDER BY rowid")]
        return {
            o: [c[1] for c in self._db.execute(f"PRAGMA table_info({quote(o)})")][3:]
            for o in origins
        }
