"""Names every backend shares, the registry, and the backend factory."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.storage import Backend, InvalidNameError, StorageError, open_backend
from controlroom.storage.registrations import Registrations, check_column, check_obsid, check_origin


@pytest.mark.parametrize("origin", ["TEMPCTL", "SYN-HK", "dummy.hk", "A", "X" * 64])
def test_good_origins(origin: str) -> None:
    assert check_origin(origin) == origin


@pytest.mark.parametrize("origin", ["", "-HK", ".", "..", "a/b", "a b", "X" * 65, "é", None])
def test_bad_origins(origin: object) -> None:
    with pytest.raises(InvalidNameError):
        check_origin(origin)


@pytest.mark.parametrize("name", ["T1", "GTCS TRP1 T AVE", "Température", "a.b", "µA"])
def test_good_columns(name: str) -> None:
    assert check_column(name) == name


@pytest.mark.parametrize("name", ["", "a/b", ".", "..", "tab\there", "OBSID", "Timestamp", 3])
def test_bad_columns(name: object) -> None:
    with pytest.raises(InvalidNameError):
        check_column(name)


def test_obsids_must_name_a_folder() -> None:
    check_obsid(None)
    check_obsid("CSL2_00042")
    with pytest.raises(InvalidNameError):
        check_obsid("../../etc")


def test_registrations_plan_only_what_is_new() -> None:
    registrations = Registrations({"HK": ["A", "B"]})
    assert registrations.plan("HK", ["B", "A"]) == (False, [])
    assert registrations.plan("HK", ["A", "C", "C"]) == (False, ["C"])
    assert registrations.plan("NEW", ["X"]) == (True, ["X"])
    with pytest.raises(InvalidNameError, match="only in case"):
        registrations.plan("HK", ["b"])


@pytest.mark.parametrize("kind", ["csv", "sqlite", "hdf5"])
def test_the_factory_opens_each_embedded_backend(tmp_path: Path, kind: str) -> None:
    options = {"root": tmp_path} if kind == "csv" else {"path": tmp_path / f"hk.{kind}"}
    backend = open_backend(kind, **options)
    try:
        assert isinstance(backend, Backend)
    finally:
        backend.close()


def test_the_factory_names_unknown_kinds_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unknown storage backend 'parquet'"):
        open_backend("parquet")
    with pytest.raises(StorageError, match="bad options"):
        open_backend("sqlite", file=tmp_path / "x")
