"""Batches written together (``append_tables``): each has its own outcome, none fails the others."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from controlroom.storage import (
    Backend,
    BackendUnavailableError,
    CsvBackend,
    InvalidNameError,
    SqliteBackend,
    Table,
    TableBackend,
    ValueTypeError,
)
from controlroom.testing.smalldisk import SmallDisk

T0 = 1_717_200_000.0  # 2024-06-01T00:00:00 UTC
COLUMNS = ["SEQ", "T"]


def _table(first: int, count: int, obsid: str | None = "LAB_00001") -> Table:
    return Table(COLUMNS, [[T0 + i, 1, obsid, i, 20.0 + i] for i in range(first, first + count)])


def _seq(backend: Backend, origin: str) -> list[Any]:
    return [row.values["SEQ"] for row in backend.range(origin)]


@pytest.fixture
def two(store: Backend) -> TableBackend:
    """A backend with two origins registered."""
    assert isinstance(store, TableBackend)
    for origin in ("A", "B"):
        store.register(origin, COLUMNS)
    return store


def test_tables_of_several_origins_are_stored_together(two: TableBackend) -> None:
    outcomes = two.append_tables([("A", _table(0, 3)), ("B", _table(0, 2)), ("A", _table(3, 2))])
    assert outcomes == [None, None, None]
    assert _seq(two, "A") == [0, 1, 2, 3, 4] and _seq(two, "B") == [0, 1]


def test_a_refused_table_is_refused_alone(two: TableBackend) -> None:
    bad = Table(COLUMNS, [[T0, 1, "../up", 9, 9.0]])
    outcomes = two.append_tables([("A", _table(0, 2)), ("B", bad), ("B", _table(5, 1))])
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], InvalidNameError)
    assert _seq(two, "A") == [0, 1] and _seq(two, "B") == [5]


def test_a_value_the_medium_refuses_takes_no_other_table_with_it(two: TableBackend) -> None:
    big = Table(COLUMNS, [[T0 + 9, 1, None, 1 << 70, 0.0]])  # beyond SQLite's and HDF5's ints
    outcomes = two.append_tables([("A", _table(0, 2)), ("B", big), ("A", _table(2, 2))])
    assert outcomes[0] is None and outcomes[2] is None
    assert _seq(two, "A") == [0, 1, 2, 3]
    if outcomes[1] is None:  # CSV and PostgreSQL hold it
        assert _seq(two, "B") == [1 << 70]
    else:
        assert isinstance(outcomes[1], ValueTypeError)
        assert _seq(two, "B") == []


class FailingCommit:
    """A SQLite connection whose COMMIT fails like a full disk while ``full``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.full = True

    def execute(self, statement: str, *args: Any) -> Any:
        if self.full and statement == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_sqlite_tables_together_are_one_transaction(tmp_path: Any) -> None:
    backend = SqliteBackend(tmp_path / "hk.sqlite")
    try:
        for origin in ("A", "B"):
            backend.register(origin, COLUMNS)
        failing = FailingCommit(backend._db)
        backend._db = failing  # type: ignore[assignment]
        tables = [("A", _table(0, 2)), ("B", _table(0, 2))]
        outcomes = backend.append_tables(tables)
        assert all(isinstance(o, BackendUnavailableError) for o in outcomes)
        assert _seq(backend, "A") == [] and _seq(backend, "B") == []  # nothing of either
        failing.full = False
        assert backend.append_tables(tables) == [None, None]
        assert _seq(backend, "A") == [0, 1] and _seq(backend, "B") == [0, 1]
    finally:
        backend.close()


def test_csv_tables_together_on_a_full_disk_leave_nothing_behind(disk: SmallDisk) -> None:
    backend = CsvBackend(disk.path / "csv", site="LAB")
    for origin in ("A", "B"):
        backend.register(origin, COLUMNS)
    backend.append_tables([("A", _table(0, 2)), ("B", _table(0, 2))])
    files = sorted((disk.path / "csv").rglob("*.csv"))
    before = [path.read_bytes() for path in files]
    disk.fill()
    tables = [("A", _table(2, 300)), ("B", _table(2, 300))]
    outcomes = backend.append_tables(tables)
    assert all(isinstance(o, BackendUnavailableError) for o in outcomes)
    assert [path.read_bytes() for path in files] == before  # every file cut back
    disk.free()
    assert backend.append_tables(tables) == [None, None]
    reopened = CsvBackend(disk.path / "csv", site="LAB")
    assert _seq(reopened, "A") == list(range(302)) and _seq(reopened, "B") == list(range(302))
