"""The storage manager through a proxy: store and acknowledge, register, query, refuse."""

from __future__ import annotations

import time

import pytest
from storage_helpers import ManagerFactory, hk_row

from controlroom.rpc import RemoteError
from controlroom.telemetry import parse_dictionary, shipped_dictionary_path

T0 = 1_700_000_000.0


def test_a_batch_is_acknowledged_once_every_backend_has_it(
    memory_manager: ManagerFactory,
) -> None:
    _, proxy, backends = memory_manager(2)
    rows = [hk_row(T0 + i * 0.0001, "LAB_00001", 3, T1=20.0 + i, T2=i) for i in range(5)]
    assert proxy.store("TEMPCTL", rows) == 5
    for backend in backends:  # the reply came after both appends returned
        stored = backend.store["rows"]["TEMPCTL"]
        assert [r.timestamp for r in stored] == [T0 + i * 0.0001 for i in range(5)]
        assert stored[0].obsid == "LAB_00001" and stored[0].setup_id == 3
        assert backend.columns("TEMPCTL") == ["T1", "T2"]  # registered on first sight
    stats = proxy.stats()
    assert stats["rows"] == 5 and stats["batches"] == 1
    assert stats["per_origin"] == {"TEMPCTL": 5}
    assert stats["backends"]["memory1"]["rows"] == 5


def test_new_columns_extend_the_registration(memory_manager: ManagerFactory) -> None:
    _, proxy, [backend] = memory_manager()
    assert proxy.register("OGSE", ["LAMP"]) == ["LAMP"]
    assert proxy.register("OGSE", ["LAMP", "FILTER"]) == ["LAMP", "FILTER"]
    proxy.store("OGSE", [hk_row(T0, LAMP=1.0, SHUTTER="open")])
    assert backend.columns("OGSE") == ["LAMP", "FILTER", "SHUTTER"]
    assert proxy.origins() == {"OGSE": ["LAMP", "FILTER", "SHUTTER"]}


def test_a_backend_that_fails_means_no_acknowledgement(memory_manager: ManagerFactory) -> None:
    _, proxy, [good, bad] = memory_manager(2)
    proxy.store("X", [hk_row(T0, A=1)])  # registers X everywhere
    bad.failing = True
    with pytest.raises(RemoteError) as failed:
        proxy.store("X", [hk_row(T0 + 1, A=2)])
    assert failed.value.info.type == "StoreFailed"
    assert "the disk is gone" in str(failed.value)
    assert proxy.stats()["failures"] == 1
    bad.failing = False
    assert proxy.store("X", [hk_row(T0 + 1, A=2)]) == 1  # the sender's retry
    assert [r.values["A"] for r in bad.store["rows"]["X"]] == [1, 2]
    # Exactly once: the retry gives the backend that took the batch nothing more.
    assert [r.values["A"] for r in good.store["rows"]["X"]] == [1, 2]
    assert proxy.stats()["backends"]["memory0"]["unacked_rows"] == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("not a list", "list"),
        ([{"values": {"A": 1}}], "timestamp"),
        ([{"timestamp": T0, "values": [1, 2]}], "values must be a map"),
        ([hk_row(T0, **{"bad/name": 1})], "no '/'"),
        ([hk_row(T0, A=[1, 2])], "not a storable scalar"),
        ([hk_row(T0, "../escape", A=1)], "obsid"),
    ],
)
def test_malformed_batches_are_refused_and_the_manager_keeps_serving(
    memory_manager: ManagerFactory, rows: object, message: str
) -> None:
    _, proxy, _ = memory_manager()
    with pytest.raises(RemoteError, match=message) as refused:
        proxy.request("store", ("X", rows))
    assert refused.value.info.type in ("RowsRefused", "ArgumentError")
    assert proxy.store("X", [hk_row(T0, A=1)]) == 1


def test_get_housekeeping_finds_the_origin_by_its_columns(memory_manager: ManagerFactory) -> None:
    _, proxy, _ = memory_manager()
    proxy.store("OGSE", [hk_row(T0 + i, LAMP=float(i), FILTER=None) for i in range(10)])
    proxy.store("TEMPCTL", [hk_row(T0 + i, T1=-float(i)) for i in range(3)])
    got = proxy.query_housekeeping("LAMP", since=T0 + 2, until=T0 + 5)
    assert got == {
        "name": "LAMP",
        "origin": "OGSE",
        "unit": None,
        "times": [T0 + 2, T0 + 3, T0 + 4],
        "values": [2.0, 3.0, 4.0],
    }
    assert proxy.query_housekeeping("LAMP", limit=2)["values"] == [0.0, 1.0]
    assert proxy.query_housekeeping("FILTER")["values"] == []  # never had a value
    with pytest.raises(RemoteError, match="no stored HK parameter 'NOPE'"):
        proxy.query_housekeeping("NOPE")


def test_a_name_stored_by_two_origins_needs_one(memory_manager: ManagerFactory) -> None:
    _, proxy, _ = memory_manager()
    proxy.store("A", [hk_row(T0, TEMP=1.0)])
    proxy.store("B", [hk_row(T0, TEMP=2.0)])
    with pytest.raises(RemoteError, match="stored by A, B: give an origin"):
        proxy.query_housekeeping("TEMP")
    assert proxy.query_housekeeping("TEMP", origin="B")["values"] == [2.0]
    with pytest.raises(RemoteError, match="no stored origin 'C'"):
        proxy.query_housekeeping("TEMP", origin="C")


def test_the_telemetry_dictionary_gives_origin_and_unit(memory_manager: ManagerFactory) -> None:
    dictionary = parse_dictionary(shipped_dictionary_path().read_text())
    parameter = next(p for p in dictionary if not p.is_synoptic and p.unit)
    _, proxy, _ = memory_manager(dictionary=dictionary)
    proxy.store("DECOY", [hk_row(T0, **{parameter.name: -1.0})])  # same name, other origin
    proxy.store(parameter.origin, [hk_row(T0 + 1, **{parameter.name: 42.0})])
    got = proxy.query_housekeeping(parameter.name)
    assert (got["origin"], got["unit"], got["values"]) == (parameter.origin, parameter.unit, [42.0])
    latest = proxy.latest(parameter.name)
    assert latest["value"] == 42.0 and latest["time"] == T0 + 1 and latest["unit"] == parameter.unit
    names = proxy.names()
    assert {"name": parameter.name, "origin": parameter.origin, "unit": parameter.unit} in names
    assert {"name": parameter.name, "origin": "DECOY", "unit": ""} in names


def test_latest_of_a_parameter_and_of_an_origin(memory_manager: ManagerFactory) -> None:
    _, proxy, _ = memory_manager()
    proxy.store(
        "X", [hk_row(T0, "OBS_1", 4, A=1.0, B=None), hk_row(T0 + 1, "OBS_1", 4, A=None, B=2)]
    )
    assert proxy.latest("A")["value"] == 1.0 and proxy.latest("A")["time"] == T0
    last = proxy.latest(origin="X")
    assert last == {
        "time": T0 + 1,
        "setup_id": 4,
        "obsid": "OBS_1",
        "values": {"A": None, "B": 2},
    }
    assert proxy.latest("B", origin="X")["obsid"] == "OBS_1"
    with pytest.raises(RemoteError, match="needs a parameter name"):
        proxy.latest()


def test_status_is_published_with_the_counters(memory_manager: ManagerFactory) -> None:
    server, proxy, _ = memory_manager()
    proxy.store("X", [hk_row(time.time(), A=1)])
    server.publisher.set_period("status", 0.01)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = proxy.get_status()
        if status and status["values"]["rows"] == 1:
            break
    else:
        pytest.fail("the status never showed the stored row")
    assert status["values"] == {
        "rows": 1,
        "batches": 1,
        "refused_rows": 0,
        "failures": 0,
        "write_failures": 0,
        "backends_ok": True,
    }
