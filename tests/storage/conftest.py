"""Fixtures for the storage tests: every backend opened fresh, PostgreSQL in its own schema.

The PostgreSQL server is the local one (``CONTROLROOM_TEST_POSTGRES`` overrides
the connection string). Under ``CI=true`` a missing server fails the tests;
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlroom.storage import Backend, open_backend
from controlroom.testing.smalldisk import SmallDisk, mount_refused, small_disk

POSTGRES = os.environ.get("CONTROLROOM_TEST_POSTGRES", "host=127.0.0.1 user=postgres dbname=test")
KINDS = ["csv", "sqlite", "hdf5", "postgres"]

Opener = Callable[[], Backend]


@pytest.fixture(scope="session")
def postgres_conninfo() -> str:
    """The test server's connection string, once it answered."""
    import psycopg

    try:
        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except psycopg.Error as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the PostgreSQL server at {POSTGRES!r}: {exc}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES!r}: {exc}")
    return POSTGRES


@pytest.fixture
def postgres_schema(postgres_conninfo: str) -> Iterator[str]:
    """A schema name of this test alone, dropped (with its tables) afterwards."""
    import psycopg
    from psycopg import sql

    name = f"test_{secrets.token_hex(6)}"
    yield name
    with psycopg.connect(postgres_conninfo, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def backend_options(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The options that open a fresh backend of ``kind`` for one test."""
    if kind == "csv":
        return {"root": tmp_path / "csv", "site": "LAB"}
    if kind == "sqlite":
        return {"path": tmp_path / "hk.sqlite"}
    if kind == "hdf5":
        return {"path": tmp_path / "hk.h5"}
    schema = request.getfixturevalue("postgres_schema")
    return {"conninfo": request.getfixturevalue("postgres_conninfo"), "schema": schema}


@pytest.fixture(params=KINDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens (and reopens) one backend at the same place; all are closed afterwards."""
    options = backend_options(request.param, tmp_path, request)
    opened: list[Backend] = []

    def opener() -> Backend:
        opened.append(open_backend(request.param, **options))
        return opened[-1]

    yield opener
    for backend in opened:
        backend.close()


@pytest.fixture
def store(open_store: Opener) -> Backend:
    """A fresh backend of each kind."""
    return open_store()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 1 MiB tmpfs: a real full disk (root only; under CI it must run)."""
    refused = mount_refused()
    if refused:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the full-disk tests as root: {refused}")
        pytest.skip(refused)
    with small_disk(tmp_path / "disk", 1 << 20) as mounted:
        yield mounted
