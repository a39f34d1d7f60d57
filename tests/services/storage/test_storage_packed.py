"""Packed batches (``store_packed``): stored, refused when malformed, deferred while written."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgpack
import pytest
from storage_helpers import ManagerFactory, MemoryBackend

from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.rpc import ControlServer, RemoteError
from controlroom.services.storage.errors import StoreFailed
from controlroom.services.storage.ingest import Ingest
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker
from controlroom.storage import Row

T0 = 1_700_000_000.0


def _packed(*rows: Sequence[Any]) -> bytes:
    return msgpack.packb([list(row) for row in rows])


def test_a_packed_table_is_stored_with_its_columns(memory_manager: ManagerFactory) -> None:
    _, proxy, [backend] = memory_manager()
    packed = _packed([T0, 3, "LAB_1", 1.5, None], [T0 + 1, None, None, 2.5, "on"])
    assert proxy.store_packed("X", ["A", "S"], packed) == 2
    rows = backend.store["rows"]["X"]
    assert [(r.timestamp, r.setup_id, r.obsid) for r in rows] == [
        (T0, 3, "LAB_1"),
        (T0 + 1, None, None),
    ]
    assert [r.values for r in rows] == [{"A": 1.5, "S": None}, {"A": 2.5, "S": "on"}]
    assert proxy.origins() == {"X": ["A", "S"]}
    assert proxy.store_packed("X", ["A"], _packed()) == 0  # an empty batch
    assert proxy.stats()["rows"] == 2


@pytest.mark.parametrize(
    ("columns", "packed", "message"),
    [
        (["A"], b"\xc1", "msgpack list"),  # not msgpack
        (["A"], msgpack.packb({"A": 1}), "msgpack list"),
        (["A"], _packed([T0, None, None]), "fields"),
        (["A"], _packed([T0, None, None, [1]]), "not a storable scalar"),
        (["a/b"], _packed([T0, None, None, 1]), "no '/'"),
        ([1], _packed([T0, None, None, 1]), "expected str"),
    ],
)
def test_malformed_packed_batches_are_refused_and_the_manager_goes_on(
    memory_manager: ManagerFactory, columns: list[Any], packed: bytes, message: str
) -> None:
    _, proxy, [backend] = memory_manager()
    with pytest.raises(RemoteError, match=message) as refused:
        proxy.request("store_packed", ("X", columns, packed))
    assert refused.value.info.type in ("RowsRefused", "ArgumentError")
    assert proxy.store_packed("X", ["A"], _packed([T0, None, None, 1])) == 1
    assert [r.values for r in backend.store["rows"]["X"]] == [{"A": 1}]


class GatedBackend(MemoryBackend):
    """Appends wait for ``gate``: a backend busy writing."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.writing = threading.Event()

    def append(self, origin: str, rows: Sequence[Row]) -> None:
        self.writing.set()
        assert self.gate.wait(10)
        super().append(origin, rows)


def test_the_manager_takes_in_more_while_a_batch_is_written() -> None:
    backend = GatedBackend()
    manager = StorageManager([BackendWorker("gated", {}, opener=lambda kind: backend)])
    server = ControlServer("storage", DeviceService(manager), endpoint="tcp://127.0.0.1:0")
    with server, ThreadPoolExecutor(2) as pool:
        clients = [make_proxy(StorageManager, server.endpoint, timeout=10.0) for _ in range(3)]
        try:
            one, two = (_packed([T0 + i, None, None, i]) for i in (1, 2))
            first = pool.submit(clients[0].store_packed, "X", ["A"], one)
            assert backend.writing.wait(10)
            second = pool.submit(clients[1].store_packed, "X", ["A"], two)
            # While the backend writes, the command thread still takes commands in.
            assert clients[2].origins() == {"X": ["A"]}
            assert not first.done() and not second.done()
            backend.gate.set()
            assert (first.result(10), second.result(10)) == (1, 1)
        finally:
            for client in clients:
                client.close()
    assert [r.values["A"] for r in backend.store["rows"]["X"]] == [1, 2]


def test_a_retry_in_a_wider_table_is_not_stored_twice() -> None:
    full, lost = MemoryBackend(), MemoryBackend()
    workers = [
        BackendWorker(n, {}, opener=lambda kind, b=b: b) for n, b in (("a", full), ("b", lost))
    ]
    ingest = Ingest(workers)
    try:
        lost.failing = True
        with pytest.raises(StoreFailed):
            ingest.submit_packed("X", ["A"], _packed([T0, None, None, 1])).result(10)
        lost.failing = False
        # The retry carries a newer row with a new column: the old row is padded with None.
        retry = _packed([T0, None, None, 1, None], [T0 + 1, None, None, 2, "new"])
        assert ingest.submit_packed("X", ["A", "B"], retry).result(10) == 2
    finally:
        ingest.close()
    for backend in (full, lost):
        assert [r.values.get("A") for r in backend.store["rows"]["X"]] == [1, 2]
    assert ingest.stats()["backends"]["a"]["unacked_rows"] == 0


def test_a_future_of_each_batch_completes_once_all_backends_answered() -> None:
    slow, fast = GatedBackend(), MemoryBackend()
    workers = [
        BackendWorker(n, {}, opener=lambda kind, b=b: b) for n, b in (("s", slow), ("f", fast))
    ]
    ingest = Ingest(workers)
    try:
        done: Future[int] = ingest.submit_packed("X", ["A"], _packed([T0, None, None, 1]))
        assert slow.writing.wait(10)
        assert not done.done()  # the fast one has it, the slow one not yet
        slow.gate.set()
        assert done.result(10) == 1
    finally:
        ingest.close()
