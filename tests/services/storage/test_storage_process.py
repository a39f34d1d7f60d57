"""The storage manager as a process on SQLite + CSV: kill -9 loses no acknowledged row."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlroom.device.proxy import make_proxy
from controlroom.rpc import RpcError
from controlroom.services.storage.server import StorageManager
from controlroom.storage import CsvBackend
from controlroom.testing.processes import ServerProcess

pytestmark = pytest.mark.integration

ANY_PORT = "tcp://127.0.0.1:0"
T0 = 1_700_000_000.0
ORIGINS = ("OGSE", "TEMPCTL")
BATCH = 200


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local settings: the storage manager on port 0, data in tmp_path, SQLite + CSV."""
    local = {
        "site": "LAB",
        "services": {"storage": {"commands": ANY_PORT, "publish": ANY_PORT}},
        "locations": {name: str(tmp_path / name) for name in ("conf_repo", "data", "state")},
        "storage": {"backends": ["sqlite", "csv"]},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


def _manager() -> ServerProcess:
    return ServerProcess([sys.executable, "-m", "controlroom.processes.service", "storage"])


def _batch(origin: str, first: int) -> list[dict[str, Any]]:
    # Sequence numbers in the values and the timestamps: a lost row shows as a gap.
    return [
        {
            "timestamp": T0 + (first + i) * 1e-4,
            "setup_id": 1,
            "obsid": "LAB_00001",
            "values": {"SEQ": first + i, **{f"P{k:02d}": float(k) for k in range(20)}},
        }
        for i in range(BATCH)
    ]


def _hammer(endpoint: str, origin: str, acked: list[int], stop: threading.Event) -> None:
    """Store batches until the manager dies; record the last sequence number of each ack."""
    proxy = make_proxy(StorageManager, endpoint, timeout=5.0)
    first = 0
    try:
        while not stop.is_set():
            proxy.store(origin, _batch(origin, first))
            acked.append(first + BATCH - 1)
            first += BATCH
    except RpcError:
        pass  # the manager was killed: this batch was never acknowledged
    finally:
        proxy.close()


def test_every_acknowledged_row_survives_kill_9_and_registrations_persist(
    settings_file: Path, tmp_path: Path
) -> None:
    acked: dict[str, list[int]] = {origin: [] for origin in ORIGINS}
    stop = threading.Event()
    with _manager() as first:
        threads = [
            threading.Thread(target=_hammer, args=(first.endpoint, origin, acked[origin], stop))
            for origin in ORIGINS
        ]
        for thread in threads:
            thread.start()
        try:
            # Kill while both clients are mid-stream: batches in flight, more acknowledged.
            while min(len(a) for a in acked.values()) < 5:
                if not all(thread.is_alive() for thread in threads):
                    pytest.fail(f"a client stopped early; output: {first.output}")
                threads[0].join(0.01)
            first.kill()
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
    assert all(acked.values())

    with _manager() as second:
        proxy = make_proxy(StorageManager, second.endpoint, timeout=10.0)
        try:
            columns = proxy.origins()  # before any new row: known from the backends
            assert set(columns) == set(ORIGINS)
            assert columns["OGSE"] == ["SEQ", *(f"P{k:02d}" for k in range(20))]
            for origin in ORIGINS:
                stored = proxy.query_housekeeping("SEQ", origin=origin)["values"]
                _assert_has_acknowledged(stored, acked[origin][-1], f"sqlite {origin}")
        finally:
            proxy.close()
    csv = CsvBackend(tmp_path / "data" / "csv", site="LAB")
    try:
        for origin in ORIGINS:
            stored = [int(r.values["SEQ"]) for r in csv.range(origin, ["SEQ"])]
            _assert_has_acknowledged(stored, acked[origin][-1], f"csv {origin}")
    finally:
        csv.close()


def _assert_has_acknowledged(stored: list[Any], last_acked: int, where: str) -> None:
    """Rows 0..last_acked are all there (a batch in flight at the kill may be there too)."""
    assert stored[: last_acked + 1] == list(range(last_acked + 1)), where
    # Whatever follows is a whole batch that was durable but not yet acknowledged.
    assert len(stored) - (last_acked + 1) in (0, BATCH), where
