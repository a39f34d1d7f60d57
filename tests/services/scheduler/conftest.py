"""A stand-in configuration manager and a scheduler server, both in this process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from controlroom.processes.jobs import run_in_observation
from controlroom.rpc import ControlServer, FunctionTable
from controlroom.services.scheduler.server import build_server


@dataclass
class StandInConfman:
    """Setups by id, the current one, observations; and a log of the observation calls."""

    setups: dict[int, dict[str, Any]] = field(default_factory=dict)
    setup_id: int | None = None
    obsid: str | None = None
    count: int = 0
    calls: list[tuple[str, ...]] = field(default_factory=list)
    server: ControlServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, setup_id: int, schedules: dict[str, Any]) -> None:
        self.setups[setup_id] = {"_meta": {"id": setup_id}, "schedules": schedules}

    def load_setup(self, setup_id: int) -> int:
        self.setup_id = setup_id
        assert self.server is not None
        self.server.notify("new_setup", {"setup_id": setup_id})
        return setup_id

    def get_current_setup(self) -> dict[str, Any] | None:
        return None if self.setup_id is None else self.setups[self.setup_id]

    def start_observation(self, description: str) -> str:
        with self._lock:
            assert self.obsid is None, "an observation is running"
            self.count += 1
            self.obsid = f"LAB_{self.count:05d}"
            self.calls.append(("start_observation", description, self.obsid))
            return self.obsid

    def end_observation(self) -> None:
        with self._lock:
            assert self.obsid is not None, "no observation is running"
            self.calls.append(("end_observation", self.obsid))
            self.obsid = None

    def table(self) -> FunctionTable:
        names = ("load_setup", "get_current_setup", "start_observation", "end_observation")
        return FunctionTable({name: getattr(self, name) for name in names})


@pytest.fixture
def confman() -> Iterator[tuple[StandInConfman, ControlServer]]:
    state = StandInConfman()
    server = ControlServer("confman", state.table())
    state.server = server
    server.start()
    yield state, server
    server.stop()


def scheduler_settings(confman_endpoint: str) -> dict[str, Any]:
    """Just what build_server reads; the test jobs' module is an allowed package."""
    loopback = "tcp://127.0.0.1:0"
    return {
        "services": {
            "confman": {"commands": confman_endpoint, "publish": loopback},
            "scheduler": {
                "commands": loopback,
                "publish": loopback,
                "allowed_packages": ["scheduler_jobs"],
            },
        },
        "security": {"allowed_packages": ["controlroom.devices"]},
        "defaults": {"proxy_timeout_s": 2.0},
    }


@pytest.fixture
def start_scheduler(
    confman: tuple[StandInConfman, ControlServer],
) -> Iterator[Callable[..., ControlServer]]:
    """Start the scheduler server (with observations) against the stand-in, its jobs with
    ``role`` (else the default); stopped after."""
    started: list[ControlServer] = []

    def start(*, role: str | None = None, **options: Any) -> ControlServer:
        options.setdefault("follow_s", 0.2)
        settings = scheduler_settings(confman[1].endpoint)
        if role is not None:
            settings["services"]["scheduler"]["role"] = role
        server = build_server(settings, runner=run_in_observation, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
