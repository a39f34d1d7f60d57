"""A backend in a process of its own: requests, errors as the same classes, a death survived."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import psutil
import pytest

from controlroom.services.storage import backendproc
from controlroom.services.storage.batch import Batch
from controlroom.services.storage.channel import Channel
from controlroom.services.storage.procworker import ProcessWorker
from controlroom.storage import (
    BackendUnavailableError,
    InvalidNameError,
    StorageError,
    Table,
    UnknownOriginError,
    ValueTypeError,
)

pytestmark = pytest.mark.integration

T0 = 1_700_000_000.0
COLUMNS = ["SEQ", "T"]


def _packed(first: int, count: int) -> Batch:
    rows = [[T0 + i, 1, "LAB_00001", i, 20.0 + i] for i in range(first, first + count)]
    return Batch("X", COLUMNS, packed=msgpack.packb(rows))


def _seq(worker: ProcessWorker) -> list[int]:
    return [row.values["SEQ"] for row in worker.range("X", ["SEQ"])]


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[ProcessWorker]:
    worker = ProcessWorker("sqlite", {"path": str(tmp_path / "hk.sqlite")})
    yield worker
    worker.close()


def _child(worker: ProcessWorker) -> psutil.Process:
    [child] = psutil.Process().children()
    return child


def test_packed_rows_are_stored_and_read_back(sqlite: ProcessWorker) -> None:
    sqlite.register("X", COLUMNS).result()
    futures = [sqlite.append(_packed(first, 10)) for first in (0, 10, 20)]  # in flight at once
    for future in futures:
        future.result(10)
    assert _seq(sqlite) == list(range(30))
    latest = sqlite.latest("X", "T")
    assert latest is not None and latest.values == {"T": 49.0} and latest.obsid == "LAB_00001"
    assert sqlite.registrations() == {"X": COLUMNS}
    table = Table(["T"], [[T0 + 99, None, None, -1.5]])  # a table as values, another order
    sqlite.append(Batch.of_table("X", table)).result(10)
    assert sqlite.latest("X").values == {"SEQ": None, "T": -1.5}  # type: ignore[union-attr]
    stats = sqlite.describe()
    assert stats["batches"] == 4 and stats["rows"] == 31 and stats["errors"] == 0


def test_errors_come_back_as_the_same_classes(sqlite: ProcessWorker) -> None:
    with pytest.raises(UnknownOriginError):
        sqlite.range("NOPE")
    with pytest.raises(InvalidNameError):
        sqlite.register("X", ["a/b"]).result(10)
    sqlite.register("X", COLUMNS).result(10)
    bad = Batch("X", COLUMNS, packed=msgpack.packb([[T0, 1, None, [1], 2.0]]))
    with pytest.raises(ValueTypeError, match="not a storable scalar"):
        sqlite.append(bad).result(10)
    garbage = Batch("X", COLUMNS, packed=b"\x91\xc1")  # a list header, then no msgpack
    with pytest.raises(StorageError, match="packed rows"):
        sqlite.append(garbage).result(10)
    assert sqlite.describe()["errors"] == 2
    sqlite.append(_packed(0, 3)).result(10)  # and it goes on
    assert _seq(sqlite) == [0, 1, 2]


def test_batches_waiting_together_are_stored_together_each_with_its_reply(
    sqlite: ProcessWorker,
) -> None:
    sqlite.register("X", COLUMNS).result(10)
    child = _child(sqlite)
    child.suspend()  # the next batches all wait: the process takes them as one group
    try:
        futures = [
            sqlite.append(_packed(0, 5)),
            sqlite.append(Batch("X", COLUMNS, packed=msgpack.packb([[T0, 1, "../up", 0, 0.0]]))),
            sqlite.append(_packed(5, 5)),
        ]
        query = sqlite._request(["registrations"])  # an other request behind them
    finally:
        child.resume()
    assert futures[0].result(10) is None and futures[2].result(10) is None
    with pytest.raises(InvalidNameError, match="obsid"):
        futures[1].result(10)
    assert query.result(10) == {"X": COLUMNS}
    assert _seq(sqlite) == list(range(10))


def test_a_backend_that_cannot_open_raises_and_leaves_no_process(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="synchronous"):
        ProcessWorker("sqlite", {"path": str(tmp_path / "hk.sqlite"), "synchronous": "SOMETIMES"})
    assert psutil.Process().children() == []


def test_a_killed_process_fails_what_it_owed_and_a_new_one_takes_over(
    sqlite: ProcessWorker,
) -> None:
    sqlite.register("X", COLUMNS).result(10)
    sqlite.append(_packed(0, 5)).result(10)
    first = _child(sqlite)
    first.suspend()  # so that the next batch is owed when it dies
    owed = sqlite.append(_packed(5, 5))
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    with pytest.raises(BackendUnavailableError, match="backend process ended"):
        owed.result(10)  # not stored yet: the sender keeps it and sends it again
    sqlite.append(_packed(5, 5)).result(10)  # the retry goes to a new process
    assert _child(sqlite).pid != first.pid
    assert _seq(sqlite)[:5] == [0, 1, 2, 3, 4]  # what was acknowledged before is there
    assert _seq(sqlite)[-5:] == [5, 6, 7, 8, 9]


def test_close_ends_the_process_and_later_requests_fail(tmp_path: Path) -> None:
    worker = ProcessWorker("csv", {"root": str(tmp_path / "csv")})
    child = _child(worker)
    worker.close()
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    worker.close()  # twice is harmless
    with pytest.raises(BackendUnavailableError, match="closed"):
        worker.register("X", COLUMNS)


MANAGER = """
import sys
from controlroom.services.storage.procworker import ProcessWorker
import psutil
worker = ProcessWorker("sqlite", {"path": sys.argv[1]})
print(psutil.Process().children()[0].pid, flush=True)
sys.stdin.read()
"""


def test_the_process_ends_when_the_manager_is_killed(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", MANAGER, str(tmp_path / "hk.sqlite")]
    manager = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert manager.stdout is not None
        backend = psutil.Process(int(manager.stdout.readline()))
    finally:
        manager.kill()
        manager.wait(10)
        assert manager.stdin is not None and manager.stdout is not None
        manager.stdin.close()
        manager.stdout.close()
    # It saw the end of its socket and ended by itself (psutil.TimeoutExpired if not).
    backend.wait(10)
    assert not backend.is_running()


def test_the_server_takes_waiting_appends_as_one_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups: list[int] = []
    store = backendproc.store_tables

    def counted(backend: Any, tables: Any) -> Any:
        groups.append(len(tables))
        return store(backend, tables)

    monkeypatch.setattr(backendproc, "store_tables", counted)
    ours, theirs = socket.socketpair()
    manager = Channel(ours)
    server = backendproc.BackendServer(Channel(theirs))
    for message in (  # all here before it serves, as when they came while it wrote
        ["open", "sqlite", {"path": str(tmp_path / "hk.sqlite")}],
        ["register", "X", COLUMNS],
        *(["append_packed", "X", COLUMNS, _packed(i, 2).packed] for i in (0, 2, 4)),
        ["registrations"],
        ["append_packed", "X", COLUMNS, _packed(6, 2).packed],
        ["close"],
    ):
        server._inbox.put(message)
    ours.shutdown(socket.SHUT_WR)  # nothing more comes; the replies still go back
    server.serve()
    replies = [manager.receive() for _ in range(8)]
    assert [reply[0] for reply in replies] == ["ok"] * 8
    assert replies[5][1] == {"X": COLUMNS}
    assert groups == [3, 1]  # the three together; the one after the other request alone
    manager.close()
