"""A stand-in configuration manager, a storage manager and scenarios servers, in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scenarios_helpers import LOOPBACK, StandInConfman, scenarios_settings

from controlroom.device.serving import DeviceService
from controlroom.processes.jobs import run_in_observation
from controlroom.rpc import ControlServer
from controlroom.services.scenarios.server import build_server
from controlroom.services.storage.server import StorageManager
from controlroom.services.storage.workers import BackendWorker

Confman = tuple[StandInConfman, ControlServer]


@pytest.fixture
def confman() -> Iterator[Confman]:
    state = StandInConfman()
    server = ControlServer("confman", state.table())
    state.server = server
    server.start()
    yield state, server
    server.stop()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[ControlServer]:
    """A storage manager on SQLite in tmp_path."""
    worker = BackendWorker("sqlite", {"path": str(tmp_path / "hk.sqlite")})
    server = ControlServer("storage", DeviceService(StorageManager([worker])), endpoint=LOOPBACK)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_scenarios(confman: Confman) -> Iterator[Callable[..., ControlServer]]:
    """Start scenarios servers (with observations) against the stand-in; stopped after."""
    started: list[ControlServer] = []

    def start(settings: dict[str, Any] | None = None, **options: Any) -> ControlServer:
        options.setdefault("follow_s", 0.2)
        options.setdefault("refresh_s", 0.2)
        options.setdefault("storage", "")
        settings = settings or scenarios_settings(confman[1].endpoint)
        server = build_server(settings, runner=run_in_observation, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
