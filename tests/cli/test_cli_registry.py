"""``controlroom registry start|list|stop`` against a registry started as an operator would."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import ControlServer
from controlroom.rpc.registration import attach_registration
from controlroom.testing.ports import free_tcp_port

pytestmark = pytest.mark.integration

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]
ANY_PORT = "tcp://127.0.0.1:0"


@pytest.fixture
def local_settings(tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the CLI suite's settings: the registry on port 0, state in tmp_path."""
    settings = {
        "services": {"registry": {"commands": ANY_PORT, "publish": ANY_PORT}},
        "locations": {"state": str(state_dir)},
        "defaults": {"proxy_timeout_s": 2.0},
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def registry(controlroom: Controlroom, detached: Detached) -> Iterator[ProcessRecord]:
    started = controlroom("registry", "start")
    assert started.returncode == 0, started.stderr
    assert "registry started" in started.stdout
    record = detached("cs", "registry")
    assert not record.endpoints["commands"].endswith(":0")
    yield record
    stopped = controlroom("registry", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "registry stopped" in stopped.stdout


def test_list_shows_the_registered_servers(cli: Cli, registry: ProcessRecord) -> None:
    empty = cli("registry", "list")
    assert empty.exit_code == 0, empty.stderr
    assert "no server is registered" in empty.stdout
    with ControlServer("dummy", DeviceService(DummySensor())) as server:
        registration = attach_registration(server, registry.endpoints["commands"])
        try:
            assert registration.registered.wait(5.0)
            table = cli("registry", "list")
            assert table.exit_code == 0, table.stderr
            assert "dummy" in table.stdout
            assert server.endpoint in table.stdout
            listed = json.loads(cli("registry", "list", "--json").stdout)
            assert [entry["name"] for entry in listed] == ["dummy"]
            assert listed[0]["endpoints"]["publish"] == server.pub_endpoint
        finally:
            registration.stop()


def test_a_second_start_is_refused(controlroom: Controlroom, registry: ProcessRecord) -> None:
    again = controlroom("registry", "start")
    assert again.returncode == 1
    assert "already running" in again.stderr


def test_list_without_a_registry_says_how_to_start_it(cli: Cli) -> None:
    result = cli("registry", "list")
    assert result.exit_code == 1
    assert "controlroom registry start" in result.stderr


def test_stop_without_a_registry_says_so(cli: Cli) -> None:
    result = cli("registry", "stop")
    assert result.exit_code == 0
    assert "not running" in result.stdout


def test_list_when_the_registry_does_not_answer(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"tcp://127.0.0.1:{free_tcp_port()}"
    settings = {
        "services": {"registry": {"commands": dead}},
        "defaults": {"proxy_timeout_s": 0.2},
    }
    path = tmp_path / "dead-registry.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    result = cli("registry", "list")
    assert result.exit_code == 1
    assert f"the registry at {dead} does not answer" in result.stderr
