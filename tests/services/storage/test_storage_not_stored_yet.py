"""A backend that cannot store now (disk full): rows are kept, retried, stored once, and reported.

Only rows that can never be stored may be refused. SQLite's "database or disk
is full" is injected at the connection (the one place SQLite reports it); the
real full disk is in ``test_storage_full_disk_process.py``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from storage_helpers import ManagerFactory, MemoryBackend, hk_row

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.follow import StatusFollower
from controlroom.services.storage.attach import DROPPED_EVENT, attach_storage
from controlroom.services.storage.errors import RowsRefused, StoreFailed
from controlroom.services.storage.health import FAILING, RECOVERED
from controlroom.services.storage.ingest import Ingest
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker
from controlroom.storage import SqliteBackend
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

T0 = 1_700_000_000.0
ANY_PORT = "tcp://127.0.0.1:0"


class FullDisk:
    """A SQLite connection whose writes fail like a full disk while ``full`` is set."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.full = False
        self.refusals = 0

    def executemany(self, statement: str, params: Any) -> Any:
        if self.full:
            self.refusals += 1
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.executemany(statement, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def _sqlite_worker(path: Path) -> tuple[BackendWorker, FullDisk]:
    backend = SqliteBackend(path)
    disk = FullDisk(backend._db)
    backend._db = disk
    return BackendWorker("sqlite", {}, opener=lambda kind: backend), disk


def _memory_worker() -> tuple[BackendWorker, MemoryBackend]:
    backend = MemoryBackend()
    return BackendWorker("memory", {}, opener=lambda kind: backend), backend


def _values(backend: Any, origin: str, name: str = "SEQ") -> list[Any]:
    return [row.values[name] for row in backend.range(origin)]


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[tuple[Ingest, FullDisk, MemoryBackend, list[Any]]]:
    """Ingest on SQLite (its disk can be made full) and a memory backend; events recorded."""
    sqlite_worker, disk = _sqlite_worker(tmp_path / "hk.sqlite")
    memory_worker, memory = _memory_worker()
    ingest = Ingest([sqlite_worker, memory_worker])
    events: list[Any] = []
    ingest.health.notify = lambda event, data: events.append((event, data))
    yield ingest, disk, memory, events
    ingest.close()


def test_disk_full_is_not_stored_yet_and_the_retry_stores_each_row_once(
    ingest: tuple[Ingest, FullDisk, MemoryBackend, list[Any]],
) -> None:
    manager, disk, memory, events = ingest
    manager.store("X", [hk_row(T0, SEQ=0)])
    disk.full = True
    first = [hk_row(T0 + i, SEQ=i) for i in range(1, 6)]
    for _ in range(3):  # the sender tries again and again while the disk is full
        with pytest.raises(StoreFailed, match="disk is full"):
            manager.store("X", first)
    stats = manager.stats()
    assert stats["refused_rows"] == 0 and stats["failures"] == 3
    assert stats["backends_ok"] is False and stats["write_failures"] == 3
    assert stats["backends"]["sqlite"]["reason"] == "disk_full"
    assert stats["backends"]["memory"]["ok"] is True
    assert stats["backends"]["memory"]["unacked_rows"] == 5
    assert _values(memory, "X") == [0, 1, 2, 3, 4, 5]  # taken once, not thrice
    assert [event for event, _ in events] == [FAILING]  # one alarm per outage
    assert events[0][1]["backend"] == "sqlite" and events[0][1]["reason"] == "disk_full"

    disk.full = False  # space is back; the retry carries newer rows behind the old ones
    retry = [*first, *(hk_row(T0 + i, SEQ=i) for i in range(6, 9))]
    assert manager.store("X", retry) == 8
    sqlite = manager.workers[0].call(lambda backend: _values(backend, "X"))
    assert sqlite == list(range(9))
    assert _values(memory, "X") == list(range(9))
    stats = manager.stats()
    assert stats["backends_ok"] is True and stats["refused_rows"] == 0
    assert stats["backends"]["memory"]["unacked_rows"] == 0
    assert [event for event, _ in events] == [FAILING, RECOVERED]
    assert events[1][1]["backend"] == "sqlite" and events[1][1]["failures"] == 3
    gauges = manager.health.gauges()
    assert gauges["storage_backend_ok_sqlite"] == 1 and gauges["storage_write_failures"] == 3


def test_the_same_sample_sent_twice_is_stored_twice_after_a_retry(
    ingest: tuple[Ingest, FullDisk, MemoryBackend, list[Any]],
) -> None:
    manager, disk, memory, _ = ingest
    twice = [hk_row(T0, SEQ=7), hk_row(T0, SEQ=7)]  # two copies really sent
    manager.register("X", ["SEQ"])
    disk.full = True
    with pytest.raises(StoreFailed):
        manager.store("X", twice)
    disk.full = False
    manager.store("X", twice)
    assert _values(memory, "X") == [7, 7]
    assert manager.workers[0].call(lambda backend: _values(backend, "X")) == [7, 7]


def test_rows_that_can_never_be_stored_are_still_refused(
    ingest: tuple[Ingest, FullDisk, MemoryBackend, list[Any]],
) -> None:
    manager, _, memory, events = ingest
    with pytest.raises(RowsRefused):
        manager.store("X", [hk_row(T0, SEQ=[1, 2])])  # a list is no scalar
    assert memory.store["rows"]["X"] == []
    assert manager.stats()["refused_rows"] == 1 and manager.stats()["backends_ok"] is True
    assert events == []  # a bad row is no outage


# -- through a real manager and a real sender ---------------------------------------------


@pytest.fixture
def sqlite_manager(tmp_path: Path) -> Iterator[tuple[ControlServer, StorageManager, FullDisk]]:
    """A storage manager on SQLite whose disk the test fills and frees."""
    worker, disk = _sqlite_worker(tmp_path / "hk.sqlite")
    manager = StorageManager([worker])
    server = ControlServer("storage", DeviceService(manager), endpoint=ANY_PORT)
    manager.publish_events_with(server.notify)
    with server:
        yield server, manager, disk


def _options(**given: Any) -> SenderOptions:
    defaults: dict[str, Any] = {"batch_rows": 10, "batch_delay_s": 0.02, "timeout_s": 5.0}
    return SenderOptions(**{**defaults, **given})


def test_a_sender_keeps_rows_through_a_full_disk_and_delivers_each_once(
    sqlite_manager: tuple[ControlServer, StorageManager, FullDisk],
) -> None:
    server, manager, disk = sqlite_manager
    disk.full = True
    with StorageSender(server.endpoint, "X", options=_options()) as sender:
        for i in range(44):
            sender.put({"SEQ": i}, T0 + i)
        assert wait_until(lambda: disk.refusals >= 3 and sender.failures >= 3, timeout_s=20.0)
        assert sender.refused == 0 and sender.sent == 0  # kept, not given up
        assert manager.ingest.stats()["refused_rows"] == 0
        assert "not stored yet" in sender.last_error
        disk.full = False
        assert wait_until(lambda: sender.sent == 44, timeout_s=20.0)
    stored = manager.workers[0].call(lambda backend: _values(backend, "X"))
    assert stored == list(range(44))
    assert sender.refused == 0 and sender.dropped == 0
    stats = manager.ingest.stats()
    assert stats["refused_rows"] == 0 and stats["rows"] == 44 and stats["backends_ok"] is True


def test_a_refused_batch_gives_up_only_the_bad_row(memory_manager: ManagerFactory) -> None:
    server, _, [backend] = memory_manager()
    with StorageSender(server.endpoint, "X", options=_options(batch_rows=10)) as sender:
        for i in range(10):
            sender.put({"SEQ": [i]} if i == 6 else {"SEQ": i}, T0 + i)
        assert wait_until(lambda: sender.sent + sender.refused == 10)
    assert (sender.sent, sender.refused) == (9, 1)
    assert [r.values["SEQ"] for r in backend.store["rows"]["X"]] == [0, 1, 2, 3, 4, 5, 7, 8, 9]


def test_a_row_the_wire_cannot_carry_is_refused_and_the_sender_goes_on(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    with StorageSender(server.endpoint, "X", options=_options(batch_rows=10)) as sender:
        for i in range(10):
            sender.put({"SEQ": 2**70} if i == 3 else {"SEQ": i}, T0 + i)
        assert wait_until(lambda: sender.sent + sender.refused == 10)
        sender.put({"SEQ": 10}, T0 + 10)  # the sending thread is still there
        assert wait_until(lambda: sender.sent == 10)
    assert sender.refused == 1
    assert [r.values["SEQ"] for r in backend.store["rows"]["X"]] == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10]


def test_rows_dropped_by_a_full_queue_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"  # no manager there
    caplog.set_level(logging.WARNING, logger="controlroom.services.storage.sender")
    sender = StorageSender(endpoint, "X", options=_options(queue_rows=5, timeout_s=1.0))
    with sender:
        for i in range(30):
            sender.put({"SEQ": i}, T0 + i)
        assert wait_until(lambda: sender.failures >= 1)
    assert sender.dropped >= 15
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warnings and "queue of 5 rows full" in warnings[0]


def test_a_server_announces_rows_its_full_queue_dropped() -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"  # the storage manager is away
    settings = {
        "services": {"storage": {"commands": endpoint}},
        "storage": {"sender": {"queue_rows": 3, "batch_rows": 3, "timeout_s": 1.0}},
    }
    dummy = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.02)
    with dummy, StatusFollower(dummy.pub_endpoint, "event/dummy") as events:
        link = attach_storage(dummy, settings)
        try:
            assert wait_until(lambda: events.current().get("event") == DROPPED_EVENT, 10.0)
        finally:
            link.stop(timeout=1.0)
    announced = events.current()
    assert announced["sender"] == "hk" and announced["origin"] == "DUMMY"
    assert announced["dropped"] >= 1 and announced["total"] >= announced["dropped"]
