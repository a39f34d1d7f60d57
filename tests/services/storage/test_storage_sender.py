"""StorageSender: batches, context tags, backpressure while the manager is away, refusals."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from storage_helpers import ManagerFactory

from controlroom.rpc.hooks import HkSample
from controlroom.services.storage import sender as sender_module
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.telemetry import LIMITS_KEY, SYNOPTICS_KEY
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until

T0 = 1_700_000_000.0
HOUR_S = 3600.0


def _options(**given: Any) -> SenderOptions:
    defaults: dict[str, Any] = {"batch_rows": 50, "batch_delay_s": 0.05, "timeout_s": 5.0}
    return SenderOptions(**{**defaults, **given})


def test_samples_become_rows_tagged_with_the_context_and_sent_in_batches(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    context = {"setup_id": 7, "obsid": "LAB_00002"}
    with StorageSender(
        server.endpoint, "DUMMY", context=lambda: context, options=_options()
    ) as sender:
        for i in range(120):
            sender(HkSample("dummy", T0 + i * 1e-4, {"V": float(i), "N": i}))
        assert wait_until(lambda: sender.counters()["sent"] == 120)
    rows = backend.store["rows"]["DUMMY"]
    assert [r.values["N"] for r in rows] == list(range(120))
    assert rows[1].timestamp == T0 + 1e-4  # the sample's own time, sub-millisecond
    assert {(r.setup_id, r.obsid) for r in rows} == {(7, "LAB_00002")}
    assert backend.appends <= 4  # 50 + 50 + 20, or the tail in two
    counters = sender.counters()
    assert counters["dropped"] == 0 and counters["queued"] == 0 and counters["batches"] >= 3


def test_a_partial_batch_goes_out_after_the_batch_delay(memory_manager: ManagerFactory) -> None:
    server, _, [backend] = memory_manager()
    with StorageSender(server.endpoint, "X", options=_options(batch_rows=1000)) as sender:
        sender.put({"A": 1}, time.time())
        assert wait_until(lambda: sender.sent == 1, timeout_s=10.0)
    assert backend.store["rows"]["X"][0].setup_id is None  # no context: nothing known


def test_limit_crossings_and_synoptics_go_to_their_own_origins(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    crossing = {"time": T0 + 0.5, "origin": "DUMMY", "parameter": "V", "band": "operational"}
    sample = {"V": 80.0, LIMITS_KEY: [crossing], SYNOPTICS_KEY: {"SYN_V": 80.0}}
    with StorageSender(server.endpoint, "DUMMY", options=_options(batch_rows=3)) as sender:
        sender(HkSample("dummy", T0, sample))
        assert wait_until(lambda: sender.sent == 3)
    rows = backend.store["rows"]
    assert [r.values for r in rows["DUMMY"]] == [{"V": 80.0}]
    [limit] = rows["LIMITS"]
    assert limit.timestamp == T0 + 0.5 and limit.values["parameter"] == "V"
    assert "time" not in limit.values  # it is the row's timestamp
    assert [r.values for r in rows["SYN"]] == [{"SYN_V": 80.0}]


def test_while_the_manager_is_down_the_queue_stays_bounded_and_then_drains(
    memory_manager: ManagerFactory,
) -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"  # no manager there until below
    sender = StorageSender(endpoint, "X", options=_options(queue_rows=100, batch_rows=10))
    queued: list[int] = []

    def put_all() -> None:
        for i in range(1000):
            sender.put({"I": i}, T0 + i)
            queued.append(sender.counters()["queued"])

    with sender:
        putting = threading.Thread(target=put_all, name="producer", daemon=True)
        putting.start()
        # All puts return while no manager exists: a put that waited for room in the
        # queue, or for the manager, would still be waiting when this gives up.
        assert wait_until(lambda: not putting.is_alive(), timeout_s=30.0), "put waited"
        assert len(queued) == 1000 and max(queued) <= 100
        assert sender.sent == 0
        assert wait_until(lambda: sender.failures >= 1)  # it tried, and keeps the rows
        assert sender.counters()["connected"] is False
        assert sender.dropped >= 890
        _, _, [backend] = memory_manager(endpoint=endpoint)  # the manager comes back
        assert wait_until(lambda: sender.counters()["queued"] == 0, timeout_s=10.0)
    assert sender.sent + sender.dropped == 1000
    stored = [r.values["I"] for r in backend.store["rows"]["X"]]
    assert stored == list(range(1000 - sender.sent, 1000))  # the newest kept, in order
    assert sender.sent >= 100
    counters = sender.counters()
    assert counters["connected"] is True and counters["lag_s"] == 0.0


def test_stop_cuts_the_retry_wait_short_while_the_manager_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After its first failure the thread would wait an hour before trying again:
    # only stop can end that wait.
    monkeypatch.setattr(sender_module, "RETRY_FIRST_S", HOUR_S)
    monkeypatch.setattr(sender_module, "RETRY_MAX_S", HOUR_S)
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    sender = StorageSender(endpoint, "X", options=_options(timeout_s=1.0)).start()
    sender.put({"A": 1}, T0)
    assert wait_until(lambda: sender.failures >= 1)
    sender.stop(timeout=30.0)
    assert sender._thread is not None and not sender._thread.is_alive()
    assert sender.failures == 1  # ended in its wait, not after another attempt
    assert sender.counters()["queued"] == 1  # kept, not lost silently: still counted


def test_refused_rows_are_counted_and_the_rest_keep_flowing(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    with StorageSender(server.endpoint, "X", options=_options(batch_rows=1)) as sender:
        sender.put({"bad/name": 1}, T0)
        sender.put({"GOOD": 2}, T0 + 1)
        assert wait_until(lambda: sender.sent == 1 and sender.refused == 1)
    assert [r.values for r in backend.store["rows"]["X"]] == [{"GOOD": 2}]
    assert sender.counters()["refused"] == 1


def test_a_setup_id_of_the_wrong_type_is_mended_or_left_out(
    memory_manager: ManagerFactory,
) -> None:
    server, _, [backend] = memory_manager()
    contexts = iter([{"setup_id": "5"}, {"setup_id": "five", "obsid": "LAB_1"}])
    sender = StorageSender(server.endpoint, "X", context=lambda: next(contexts), options=_options())
    with sender:
        sender.put({"A": 1}, T0)
        sender.put({"A": 2}, T0 + 1)
        assert wait_until(lambda: sender.sent == 2)  # not refused for a bad setup_id
    rows = backend.store["rows"]["X"]
    assert [(r.setup_id, r.obsid) for r in rows] == [(5, None), (None, "LAB_1")]
