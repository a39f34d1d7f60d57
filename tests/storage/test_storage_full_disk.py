"""A full or failing disk: a backend says "not stored yet", keeps nothing of the batch, recovers.

Rows that could never be stored are a `ValueTypeError` or another bad-request
error; a medium that cannot take them now (disk full, I/O error, a locked
database, a server down) is `BackendUnavailableError`, and the batch must
then be stored by a later append exactly once, with no torn line left behind.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from controlroom.storage import BackendUnavailableError, CsvBackend, Row, SqliteBackend
from controlroom.storage import hdf5 as hdf5_module
from controlroom.storage.errors import InvalidRowsError, ValueTypeError
from controlroom.storage.hdf5 import Hdf5Backend
from controlroom.testing.smalldisk import SmallDisk

T0 = 1_717_200_000.0  # 2024-06-01T00:00:00 UTC
DISK_FULL = "database or disk is full"


def _rows(first: int, count: int, obsid: str | None = None) -> list[Row]:
    return [Row(T0 + i, {"SEQ": i, "T": 20.0 + i}, 1, obsid) for i in range(first, first + count)]


def _seq(rows: list[Row]) -> list[Any]:
    return [r.values["SEQ"] for r in rows]


# -- SQLite: its errors while writing are "not stored yet" -----------------------------------


class FullDisk:
    """A SQLite connection whose ``fail_on`` statement fails like a full disk while ``full``."""

    def __init__(self, db: sqlite3.Connection, fail_on: str) -> None:
        self.db = db
        self.fail_on = fail_on
        self.full = False

    def execute(self, statement: str, *args: Any) -> Any:
        if self.full and statement == self.fail_on:
            raise sqlite3.OperationalError(DISK_FULL)
        return self.db.execute(statement, *args)

    def executemany(self, statement: str, params: Any) -> Any:
        if self.full and self.fail_on == "INSERT":
            raise sqlite3.OperationalError(DISK_FULL)
        return self.db.executemany(statement, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.mark.parametrize("fail_on", ["INSERT", "COMMIT"])
def test_sqlite_disk_full_is_not_stored_yet_and_the_retry_stores_once(
    tmp_path: Path, fail_on: str
) -> None:
    backend = SqliteBackend(tmp_path / "hk.sqlite")
    try:
        backend.register("TEMPCTL", ["SEQ", "T"])
        backend.append("TEMPCTL", _rows(0, 3))
        failing = FullDisk(backend._db, fail_on)
        backend._db = failing
        failing.full = True
        with pytest.raises(BackendUnavailableError) as failed:
            backend.append("TEMPCTL", _rows(3, 3))
        assert failed.value.reason == "disk_full"
        assert not isinstance(failed.value, InvalidRowsError)
        failing.full = False  # space is back: the same connection must work again
        backend.append("TEMPCTL", _rows(3, 3))
        assert _seq(backend.range("TEMPCTL")) == list(range(6))
    finally:
        backend.close()


def test_sqlite_registration_on_a_full_disk_is_not_stored_yet(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "hk.sqlite")
    try:
        failing = FullDisk(backend._db, "COMMIT")
        backend._db = failing
        failing.full = True
        with pytest.raises(BackendUnavailableError):
            backend.register("TEMPCTL", ["SEQ", "T"])
        assert backend.origins() == []  # not registered until it is durable
        failing.full = False
        backend.register("TEMPCTL", ["SEQ", "T"])
        assert backend.columns("TEMPCTL") == ["SEQ", "T"]
    finally:
        backend.close()


def test_a_value_sqlite_can_never_hold_is_still_invalid(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "hk.sqlite")
    try:
        backend.register("X", ["BIG"])
        with pytest.raises(ValueTypeError) as refused:
            backend.append("X", [Row(T0, {"BIG": 1 << 70})])
        assert isinstance(refused.value, InvalidRowsError)
        backend.append("X", [Row(T0, {"BIG": 1})])  # and the connection is fine
        assert _seq_of(backend.range("X"), "BIG") == [1]
    finally:
        backend.close()


def _seq_of(rows: list[Row], name: str) -> list[Any]:
    return [r.values[name] for r in rows]


# -- CSV on a real full disk: no torn line, no half batch ---------------------------------


def test_csv_on_a_full_disk_leaves_no_torn_line_and_stores_the_retry_once(
    disk: SmallDisk,
) -> None:
    backend = CsvBackend(disk.path / "csv", site="LAB")
    backend.register("TEMPCTL", ["SEQ", "T"])
    backend.append("TEMPCTL", _rows(0, 2, "LAB_00001"))
    daily = backend.daily_path("TEMPCTL", "20240601")
    observed = backend.obs_path("TEMPCTL", "LAB_00001")
    before = daily.read_bytes(), observed.read_bytes()
    disk.fill()
    # More text than the free end of each file's last page: the kernel writes part of it.
    batch = _rows(2, 300, "LAB_00001")
    with pytest.raises(BackendUnavailableError) as failed:
        backend.append("TEMPCTL", batch)
    assert failed.value.reason == "disk_full"
    assert (daily.read_bytes(), observed.read_bytes()) == before  # nothing of the batch
    disk.free()
    backend.append("TEMPCTL", batch)
    assert _seq(backend.range("TEMPCTL")) == list(range(302))
    reopened = CsvBackend(disk.path / "csv", site="LAB")
    assert _seq(reopened.range("TEMPCTL")) == list(range(302))
    lines = observed.read_text().splitlines()
    assert len(lines) == 1 + 302 and all(line.count(",") == 4 for line in lines)


def test_csv_registration_on_a_full_disk_is_kept_for_the_retry(disk: SmallDisk) -> None:
    backend = CsvBackend(disk.path / "csv", site="LAB")
    disk.fill()
    with pytest.raises(BackendUnavailableError):
        backend.register("TEMPCTL", ["SEQ", "T"] + [f"P{k:03d}" for k in range(500)])
    assert backend.origins() == []  # known only once registrations.json has it
    assert not list((disk.path / "csv").glob("*.new"))  # no temporary left behind
    disk.free()
    backend.register("TEMPCTL", ["SEQ", "T"])
    assert CsvBackend(disk.path / "csv", site="LAB").columns("TEMPCTL") == ["SEQ", "T"]


# -- HDF5: a failed write leaves every dataset of the origin as it was --------------------


def test_hdf5_write_error_is_not_stored_yet_and_the_datasets_stay_aligned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Hdf5Backend(tmp_path / "hk.h5")
    try:
        backend.register("TEMPCTL", ["SEQ", "T"])
        backend.append("TEMPCTL", _rows(0, 2))
        extend = hdf5_module._extend
        calls = {"n": 0}

        def extend_then_fail(dataset: h5py.Dataset, start: int, data: np.ndarray | None) -> None:
            calls["n"] += 1
            if calls["n"] == 3:  # some datasets grew already
                raise OSError(errno.ENOSPC, "No space left on device")
            extend(dataset, start, data)

        monkeypatch.setattr(hdf5_module, "_extend", extend_then_fail)
        with pytest.raises(BackendUnavailableError) as failed:
            backend.append("TEMPCTL", _rows(2, 2))
        assert failed.value.reason == "disk_full"
        monkeypatch.setattr(hdf5_module, "_extend", extend)
        backend.append("TEMPCTL", _rows(2, 2))
        assert _seq(backend.range("TEMPCTL")) == [0, 1, 2, 3]
        assert [r.values["T"] for r in backend.range("TEMPCTL")] == [20.0, 21.0, 22.0, 23.0]
    finally:
        backend.close()


# -- PostgreSQL: what the server says decides which kind of error ------------------------


def test_postgres_errors_are_sorted_into_invalid_and_not_stored_yet() -> None:
    from psycopg import errors as pg

    from controlroom.storage.postgres import storage_error

    assert isinstance(storage_error(pg.DiskFull("could not extend file")), BackendUnavailableError)
    assert storage_error(pg.DiskFull("could not extend file")).reason == "disk_full"
    assert isinstance(storage_error(pg.AdminShutdown("terminating")), BackendUnavailableError)
    assert isinstance(storage_error(pg.UndefinedTable("no samples")), BackendUnavailableError)
    invalid = storage_error(pg.NumericValueOutOfRange("integer out of range"))
    assert isinstance(invalid, InvalidRowsError)
