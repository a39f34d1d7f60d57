"""A real full disk under a real storage manager process: no row lost, none refused, none doubled.

The data folder is a small tmpfs (root only: CI runs as root and must run
this; elsewhere it is skipped with the reason). The disk is filled, real
senders send rows (of an origin stored before, so appends fail, and of a new
one, so its registration fails too), the manager raises the alarm while rows
wait at the senders, space is freed, and every row lands exactly once in
SQLite and in CSV.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.device.proxy import make_proxy
from controlroom.rpc.follow import StatusFollower
from controlroom.services.storage.health import FAILING, RECOVERED
from controlroom.services.storage.sender import SenderOptions, StorageSender
from controlroom.services.storage.server import StorageManager
from controlroom.storage import CsvBackend
from controlroom.testing.processes import ServerProcess
from controlroom.testing.smalldisk import SmallDisk, mount_refused, small_disk
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration

ANY_PORT = "tcp://127.0.0.1:0"
T0 = 1_700_000_000.0
ROWS = 400
ORIGINS = ("OGSE", "TEMPCTL")
DISK_BYTES = 8 << 20


@pytest.fixture
def data_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    refused = mount_refused()
    if refused:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the full-disk test as root: {refused}")
        pytest.skip(refused)
    with small_disk(tmp_path / "data", DISK_BYTES) as disk:
        yield disk


@pytest.fixture
def settings_file(tmp_path: Path, data_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The storage manager on port 0, SQLite + CSV on the small disk."""
    local = {
        "site": "LAB",
        "services": {"storage": {"commands": ANY_PORT, "publish": ANY_PORT}},
        "locations": {
            "data": str(data_disk.path),
            "conf_repo": str(tmp_path / "conf_repo"),
            "state": str(tmp_path / "state"),
        },
        "storage": {"backends": ["sqlite", "csv"]},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


def _sample(i: int) -> dict[str, Any]:
    return {"SEQ": i, **{f"P{k:02d}": float(i + k) for k in range(20)}}


def test_a_full_disk_keeps_every_row_and_stores_each_exactly_once(
    settings_file: Path, data_disk: SmallDisk
) -> None:
    options = SenderOptions(batch_rows=50, batch_delay_s=0.05, timeout_s=10.0)
    argv = [sys.executable, "-m", "controlroom.processes.service", "storage"]
    with ServerProcess(argv) as manager:
        proxy = make_proxy(StorageManager, manager.endpoint, timeout=10.0)
        events = StatusFollower(manager.pub_endpoint, "event/storage").start()
        status = StatusFollower(manager.pub_endpoint, "status/storage").start()
        senders = [StorageSender(manager.endpoint, o, options=options) for o in ORIGINS]
        try:
            assert status.wait(10.0)  # subscribed: the events of the outage will reach us
            for sender in senders:
                sender.start()
            senders[0].put(_sample(0), T0)  # OGSE is known and has files before the disk fills
            assert wait_until(lambda: senders[0].sent == 1, timeout_s=10.0)
            data_disk.fill()
            for i in range(1, ROWS):
                senders[0].put(_sample(i), T0 + i * 1e-3)
            for i in range(ROWS):
                senders[1].put(_sample(i), T0 + i * 1e-3)
            assert wait_until(lambda: proxy.stats()["failures"] >= 4, timeout_s=30.0)
            assert wait_until(lambda: status.current().get("backends_ok") is False, 10.0)
            assert wait_until(lambda: events.current().get("event") == FAILING, 10.0)
            assert events.current()["reason"] == "disk_full"
            stats = proxy.stats()
            assert stats["refused_rows"] == 0 and [s.refused for s in senders] == [0, 0]
            assert stats["backends"]["sqlite"]["errors"] + stats["backends"]["csv"]["errors"] > 0
            # Nothing acknowledged while a backend lacks the rows.
            assert [s.sent for s in senders] == [1, 0]

            data_disk.free()
            for sender in senders:
                assert wait_until(lambda s=sender: s.sent == ROWS, 60.0), sender.counters()
            assert wait_until(lambda: events.current().get("event") == RECOVERED, 10.0)
            stats = proxy.stats()
            stored = {o: proxy.query_housekeeping("SEQ", origin=o)["values"] for o in ORIGINS}
        finally:
            for sender in senders:
                sender.stop(timeout=5.0)
            events.stop()
            status.stop()
            proxy.close()
    assert stored == {o: list(range(ROWS)) for o in ORIGINS}  # SQLite: every row once, in order
    assert stats["refused_rows"] == 0 and stats["backends_ok"] is True
    assert stats["write_failures"] >= 2
    assert all(b["unacked_rows"] == 0 for b in stats["backends"].values())
    assert all(s.refused == 0 and s.dropped == 0 for s in senders)
    csv = CsvBackend(data_disk.path / "csv", site="LAB")
    for origin in ORIGINS:
        assert [r.values["SEQ"] for r in csv.range(origin, ["SEQ"])] == list(range(ROWS)), origin
        assert csv.range(origin, ["P19"])[-1].values["P19"] == float(ROWS - 1 + 19)
