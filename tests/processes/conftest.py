"""Settings for processes started from their entries: every service on a free port, files in tmp."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controlroom.testing.ports import free_tcp_port

SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios", "procman")
ANY_PORT = "tcp://127.0.0.1:0"


def _free() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nobody else's services: the links of a process started here go to free ports."""
    services = {name: {"commands": _free(), "publish": _free()} for name in SERVICES}
    services["logman"]["records"] = _free()
    settings = {
        "services": services,
        "locations": {key: str(tmp_path / key) for key in ("conf_repo", "data", "state")},
        "devices": {"dummy": {"commands": ANY_PORT, "publish": ANY_PORT}},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path
