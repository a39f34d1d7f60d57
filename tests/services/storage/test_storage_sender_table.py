"""How a sender packs its batches: one table per origin, maps for what msgpack cannot carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from storage_helpers import ManagerFactory

from controlroom.services.storage.batch import table_of
from controlroom.services.storage.rowqueue import QueuedRow
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.testing.waiting import wait_until

T0 = 1_700_000_000.0


def _items(*payloads: dict[str, Any]) -> list[QueuedRow]:
    return [QueuedRow("X", T0 + i, 1, "LAB_1", p) for i, p in enumerate(payloads)]


def test_rows_with_the_same_names_are_their_values() -> None:
    payloads = [{"A": 1.0, "B": 2}, {"A": 3.0, "B": 4}]
    columns, rows = table_of(_items(*payloads), payloads)
    assert columns == ["A", "B"]
    assert rows == [[T0, 1, "LAB_1", 1.0, 2], [T0 + 1, 1, "LAB_1", 3.0, 4]]


def test_names_that_change_within_a_batch_each_go_to_their_column() -> None:
    payloads = [{"A": 1}, {"B": 2, "A": 3}, {"C": 4}, {"A": 5, "B": 6, "C": 7}, {}]
    columns, rows = table_of(_items(*payloads), payloads)
    assert columns == ["A", "B", "C"]
    assert [row[3:] for row in rows] == [
        [1, None, None],
        [3, 2, None],
        [None, None, 4],
        [5, 6, 7],
        [None, None, None],
    ]


def test_values_msgpack_cannot_carry_go_as_maps_and_are_stored(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    options = SenderOptions(batch_rows=3, batch_delay_s=0.05, timeout_s=5.0)
    with StorageSender(server.endpoint, "X", options=options) as sender:
        sender.put({"N": np.int64(1), "F": np.float32(0.5)}, T0)
        sender.put({"N": 2, "F": 1.5}, T0 + 1)
        sender.put({"N": 3, "WHEN": dt.datetime.now(dt.UTC)}, T0 + 2)  # no scalar: refused
        assert wait_until(lambda: sender.sent + sender.refused == 3)
    assert (sender.sent, sender.refused) == (2, 1)
    rows = backend.store["rows"]["X"]
    assert [(r.values["N"], r.values["F"]) for r in rows] == [(1, 0.5), (2, 1.5)]
    assert [type(r.values["N"]) for r in rows] == [int, int]
