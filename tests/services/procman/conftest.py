"""Fixtures of the process manager tests: supervisors with short backoffs, isolated Settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from procman_helpers import SERVICES, Events

from controlroom.config.settings import Settings, load_settings
from controlroom.services.procman.supervisor import Policy, Supervisor
from controlroom.testing.ports import free_tcp_port

ANY = "tcp://127.0.0.1:0"
FAST = Policy(
    backoff_s=0.05,
    backoff_max_s=0.4,
    max_restarts=2,
    stable_s=30.0,
    ready_timeout_s=10.0,
    stop_timeout_s=2.0,
    stderr_lines=5,
)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_supervisor(tmp_path: Path, events: Events) -> Iterator[Callable[..., Supervisor]]:
    """Supervisors with the FAST policy (fields may be changed); all stopped at teardown."""
    made: list[Supervisor] = []

    def make(**changes: float) -> Supervisor:
        policy = Policy(**{**FAST.__dict__, **changes})
        supervisor = Supervisor(policy, tmp_path / "logs", notify=events)
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.close()


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Every service on a free port, locations in tmp_path, short backoffs."""
    services: dict[str, Any] = {
        name: {"commands": _free(), "publish": _free()} for name in [*SERVICES, "procman"]
    }
    services["logman"]["records"] = _free()
    services["procman"].update(backoff_s=0.05, max_restarts=3, stop_timeout_s=3.0)
    local = {
        "services": services,
        "web": {"enabled": False},  # the panel under `up` is tested in tests/cli
        "locations": {name: str(tmp_path / name) for name in ("conf_repo", "data", "state")},
        "devices": {
            "dummy": {"commands": ANY, "publish": ANY},
            "tempctl": {"commands": ANY, "publish": ANY, "simulator": {"port": 0}},
        },
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(local))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))  # the children read it too
    return load_settings(path)
