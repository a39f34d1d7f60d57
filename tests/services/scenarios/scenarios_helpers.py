"""Shared by the scenario tests: a stand-in configuration manager, Settings for the service."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from controlroom.rpc import ControlServer, FunctionTable

LOOPBACK = "tcp://127.0.0.1:0"


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

    def add(self, setup_id: int, scenarios: Any, devices: Any = None) -> None:
        setup: dict[str, Any] = {"_meta": {"id": setup_id}, "scenarios": scenarios}
        if devices is not None:
            setup["devices"] = devices
        self.setups[setup_id] = setup

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

    def get_observation(self) -> dict[str, Any] | None:
        with self._lock:
            return None if self.obsid is None else {"obsid": self.obsid}

    def table(self) -> FunctionTable:
        names = (
            "load_setup",
            "get_current_setup",
            "start_observation",
            "end_observation",
            "get_observation",
        )
        return FunctionTable({name: getattr(self, name) for name in names})


def scenarios_settings(confman: str, **services: dict[str, Any]) -> dict[str, Any]:
    """Just what build_server reads; the test actions' module is an allowed package."""
    return {
        "services": {
            "confman": {"commands": confman, "publish": LOOPBACK},
            "registry": {"commands": LOOPBACK, "publish": LOOPBACK},
            "storage": {"commands": LOOPBACK, "publish": LOOPBACK},
            "scenarios": {
                "commands": LOOPBACK,
                "publish": LOOPBACK,
                "allowed_packages": ["scenario_actions"],
            },
            **services,
        },
        "security": {"allowed_packages": ["controlroom.devices"]},
        "defaults": {"proxy_timeout_s": 2.0},
    }
