"""The command journal: every device command of a control server, stored with its provenance."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from storage_helpers import ManagerFactory

from controlroom.device.proxy import make_proxy
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, FunctionTable, RemoteError
from controlroom.rpc.follow import StatusFollower
from controlroom.rpc.hooks import CommandRecord
from controlroom.services.storage.attach import attach_storage, follow_confman
from controlroom.services.storage.journal import JOURNAL, journal_values, json_text
from controlroom.testing.waiting import wait_until
from controlroom.wire import ErrorInfo


class Mode(enum.Enum):
    FAST = 1


@pytest.fixture
def confman_stand_in() -> Iterator[tuple[ControlServer, dict[str, Any]]]:
    """A server publishing status/confman like the configuration manager does."""
    state: dict[str, Any] = {"site": "LAB", "setup_id": 12, "obsid": "LAB_00042"}
    served = FunctionTable({}, status=lambda: dict(state))
    server = ControlServer("confman", served, status_period_s=0.02, hk_period_s=10.0)
    with server:
        yield server, state


def test_ok_and_failing_commands_are_journaled_with_obsid_and_setup_id(
    memory_manager: ManagerFactory, confman_stand_in: tuple[ControlServer, dict[str, Any]]
) -> None:
    confman, _ = confman_stand_in
    storage, storage_proxy, [backend] = memory_manager()
    settings = {"services": {"storage": {"commands": storage.endpoint}}}
    dummy = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=0.02)
    with follow_confman(settings, confman.pub_endpoint) as follower, dummy:
        assert isinstance(follower, StatusFollower) and follower.wait(5.0)
        link = attach_storage(dummy, settings, follower.current)
        try:
            with make_proxy(DummySensor, dummy.endpoint, timeout=5.0) as proxy:
                proxy.set_offset(2.5)
                with pytest.raises(RemoteError):
                    proxy.fail("on purpose")
                assert proxy.echo({"x": [1, 2]}) == {"x": [1, 2]}
            assert wait_until(lambda: link.journal.sent == 3)
            assert wait_until(lambda: link.hk.sent >= 2)  # housekeeping flows beside it
            info_counters = dummy.services.info()["storage"]
        finally:
            link.stop()
    entries = storage_proxy.journal()
    assert [e["command"] for e in entries] == ["set_offset", "fail", "echo"]
    ok, failed, echoed = entries
    assert ok["outcome"] == "ok" and ok["server"] == "dummy"
    assert json.loads(ok["arguments"]) == {"args": [2.5], "kwargs": {}}
    assert ok["value"] == "null" and ok["error_type"] is None
    assert (ok["obsid"], ok["setup_id"]) == ("LAB_00042", 12)
    assert ok["duration_s"] >= 0 and ok["time"] > 1e9
    assert failed["outcome"] == "error" and failed["error_type"] == "DummyFault"
    assert failed["error_message"] == "on purpose" and failed["value"] is None
    assert json.loads(echoed["value"]) == {"x": [1, 2]}
    hk = backend.store["rows"]["DUMMY"]
    assert hk[0].obsid == "LAB_00042" and set(hk[0].values) == {"DUMMY_VALUE", "DUMMY_OFFSET"}
    assert info_counters["journal"]["origin"] == JOURNAL
    assert info_counters["hk"]["origin"] == "DUMMY"
    assert link.counters()["journal"]["sent"] == 3
    assert link.observer not in dummy.hooks.reply_observers  # stop() detached it


def test_the_journal_query_filters_by_obsid_server_time_and_limit(
    memory_manager: ManagerFactory,
) -> None:
    _, proxy, _ = memory_manager()

    def entry(t: float, obsid: str, server: str) -> dict[str, Any]:
        record = CommandRecord(t, server, "cmd", [t], {}, 0.001)
        return {"timestamp": t, "setup_id": 1, "obsid": obsid, "values": journal_values(record)}

    proxy.store(JOURNAL, [entry(float(t), f"OBS_{t % 2}", f"s{t % 3}") for t in range(1, 13)])
    assert [e["time"] for e in proxy.journal(obsid="OBS_1")] == [1, 3, 5, 7, 9, 11]
    assert [e["time"] for e in proxy.journal(server="s0")] == [3, 6, 9, 12]
    assert [e["time"] for e in proxy.journal(since=4, until=7)] == [4, 5, 6]
    assert [e["time"] for e in proxy.journal(limit=2)] == [11, 12]  # the latest, oldest first
    assert proxy.names() == []  # the journal is not housekeeping


def test_an_empty_store_has_an_empty_journal(memory_manager: ManagerFactory) -> None:
    _, proxy, _ = memory_manager()
    assert proxy.journal() == []


def test_values_become_json_text_cut_to_a_sensible_size() -> None:
    assert json_text({"mode": Mode.FAST, "a": np.float32(1.5), "s": {3}}) == (
        '{"mode": "FAST", "a": 1.5, "s": [3]}'
    )
    assert json_text(np.arange(3)) == "[0, 1, 2]"
    assert json_text(np.zeros((100, 100))) == '{"ndarray": [100, 100], "dtype": "float64"}'
    long = json_text(list(range(10_000)), limit=50)
    assert long.startswith("[0, 1, 2") and long.endswith(
        f"… ({len(str(list(range(10_000))))} chars)"
    )
    assert json_text({(1, 2): "tuple key"}) == json.dumps(repr({(1, 2): "tuple key"}))
    failed = CommandRecord(1.0, "s", "c", [], {"x": b"\x01"}, 0.5, error=ErrorInfo("E", "m" * 5000))
    values = journal_values(failed, value_chars=100)
    assert json.loads(values["arguments"]) == {"args": [], "kwargs": {"x": "01"}}
    assert values["error_message"].endswith("… (5000 chars)") and values["value"] is None
