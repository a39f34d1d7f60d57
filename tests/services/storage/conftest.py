"""Fixtures for the storage manager: an in-memory backend, managers in this process, proxies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from storage_helpers import ManagerFactory, MemoryBackend

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.rpc import ControlServer
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker
from controlroom.telemetry import TelemetryDictionary

ANY_PORT = "tcp://127.0.0.1:0"


@pytest.fixture
def memory_manager() -> Iterator[ManagerFactory]:
    """Start storage managers on in-memory backends (one per store given); all stopped after."""
    started: list[tuple[ControlServer, DeviceProxy]] = []

    def start(
        stores: Sequence[dict[str, Any]] | int = 1,
        dictionary: TelemetryDictionary | None = None,
        endpoint: str = ANY_PORT,
    ) -> tuple[ControlServer, DeviceProxy, list[MemoryBackend]]:
        if isinstance(stores, int):
            stores = [{"columns": {}, "rows": {}} for _ in range(stores)]
        backends = [MemoryBackend(store) for store in stores]
        workers = [
            BackendWorker(f"memory{i}", {}, opener=lambda kind, b=b: b)
            for i, b in enumerate(backends)
        ]
        manager = StorageManager(workers, dictionary)
        server = ControlServer("storage", DeviceService(manager), endpoint=endpoint)
        server.start()
        proxy = make_proxy(StorageManager, server.endpoint, timeout=10.0)
        started.append((server, proxy))
        return server, proxy, backends

    yield start
    for server, proxy in started:
        proxy.close()
        server.stop()
