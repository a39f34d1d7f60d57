"""``controlroom confman``, ``setup`` and ``obs`` against a configuration manager started here."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import Proxy
from controlroom.rpc.child import Child, module_argv
from controlroom.rpc.process import parse_ready_line

pytestmark = pytest.mark.integration

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]
ANY_PORT = "tcp://127.0.0.1:0"
HEXAPOD = {"gse": {"hexapod": {"ID": 42, "name": "PUNA"}}}


@pytest.fixture
def local_settings(tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Overrides the CLI suite's settings: confman on port 0, every location in tmp_path."""
    settings = {
        "site": "LAB",
        "services": {"confman": {"commands": ANY_PORT, "publish": ANY_PORT}},
        "locations": {
            "conf_repo": str(tmp_path / "conf_repo"),
            "data": str(tmp_path / "data"),
            "state": str(state_dir),
        },
    }
    path = tmp_path / "local-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("CONTROLROOM_LOCAL_SETTINGS", str(path))
    return path


@pytest.fixture
def confman(controlroom: Controlroom, detached: Detached) -> Iterator[ProcessRecord]:
    """The configuration manager, started detached as an operator would, stopped at the end."""
    started = controlroom("confman", "start")
    assert started.returncode == 0, started.stderr
    record = detached("cs", "confman")
    assert "configuration manager started" in started.stdout
    assert not record.endpoints["commands"].endswith(":0")  # the actual port, not the Settings'
    yield record
    stopped = controlroom("confman", "stop")
    assert stopped.returncode == 0, stopped.stderr


def _setup_file(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content))
    return str(path)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.stderr or result.stdout
    return result.stdout


def test_setup_submit_list_show_load_and_diff(
    cli: Cli, confman: ProcessRecord, tmp_path: Path
) -> None:
    first = _setup_file(tmp_path, "hexapod.yaml", HEXAPOD)
    assert "as Setup 1" in _ok(cli("setup", "submit", first, "-m", "hexapod installed"))
    changed = {"gse": {"hexapod": {"ID": 43, "name": "PUNA"}}}
    second = _setup_file(tmp_path, "changed.yaml", changed)
    assert "as Setup 2" in _ok(
        cli("setup", "submit", second, "-m", "new id", "--derived-from", "1")
    )

    listing = _ok(cli("setup", "list"))
    assert "hexapod installed" in listing and "new id" in listing
    found = json.loads(_ok(cli("setup", "list", "--filter", "gse.hexapod.ID=43", "--json")))
    assert [(m["id"], m["derived_from"]) for m in found] == [(2, 1)]
    assert json.loads(_ok(cli("setup", "list", "--site", "CSL", "--json"))) == []

    shown = _ok(cli("setup", "show", "1"))
    assert "hexapod" in shown and "PUNA" in shown and "hexapod installed" in shown
    assert json.loads(_ok(cli("setup", "show", "2", "--json")))["gse"]["hexapod"]["ID"] == 43

    assert "now the current Setup" in _ok(cli("setup", "load", "2"))
    diff = _ok(cli("setup", "diff", "1", "2"))
    assert "-    ID: 42" in diff and "+    ID: 43" in diff
    assert "same content" in _ok(cli("setup", "diff", "2", "2"))


def test_setup_errors_are_one_line(cli: Cli, confman: ProcessRecord, tmp_path: Path) -> None:
    missing = cli("setup", "show", "7")
    assert missing.exit_code == 1 and "no Setup 7" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("gse: [unclosed")
    bad = cli("setup", "submit", str(broken), "-m", "broken")
    assert bad.exit_code == 1 and "invalid YAML" in bad.stderr
    filtered = cli("setup", "list", "--filter", "no-equals-sign")
    assert filtered.exit_code == 1 and "key.path=value" in filtered.stderr
    assert "Traceback" not in missing.stderr + bad.stderr + filtered.stderr


def test_obs_start_status_and_end(cli: Cli, confman: ProcessRecord, tmp_path: Path) -> None:
    _ok(cli("setup", "submit", _setup_file(tmp_path, "s.yaml", HEXAPOD), "-m", "first"))
    _ok(cli("setup", "load", "1"))
    idle = cli("obs", "status")
    assert idle.exit_code == 3 and "no observation is running" in idle.stdout

    assert "observation LAB_00001 started" in _ok(cli("obs", "start", "cold functional test"))
    refused = cli("obs", "start", "another")
    assert refused.exit_code == 1 and "LAB_00001 is running" in refused.stderr
    status = json.loads(_ok(cli("obs", "status", "--json")))
    assert status["observation"]["obsid"] == "LAB_00001"
    assert status["observation"]["setup_id"] == 1 and status["setup_id"] == 1
    assert "LAB_00001" in _ok(cli("obs", "status"))

    assert "observation LAB_00001 ended" in _ok(cli("obs", "end"))
    assert cli("obs", "end").exit_code == 1
    assert "LAB_00002" in _ok(cli("obs", "start", "second"))


def test_confman_start_twice_then_stop(
    cli: Cli, controlroom: Controlroom, detached: Detached
) -> None:
    assert controlroom("confman", "start").returncode == 0
    record = detached("cs", "confman")
    again = cli("confman", "start")
    assert again.exit_code == 1 and "already running" in again.stderr
    assert "stopped" in _ok(cli("confman", "stop"))
    assert record.process() is None
    assert "not running" in _ok(cli("confman", "stop"))
    down = cli("setup", "list")
    assert down.exit_code == 1 and "confman start" in down.stderr


def test_confman_run_serves_in_the_foreground_until_ctrl_c(local_settings: Path) -> None:
    argv = module_argv("controlroom.cli.main", "confman", "run")
    child = Child.spawn("confman run", argv, log_path=None)
    try:
        ready = child.wait_ready(parse_ready_line, 30.0)
        with Proxy(ready["commands"], timeout=5.0) as proxy:
            assert proxy.call("list_setups") == []
        child.process.send_signal(signal.SIGINT)
        assert child.process.wait(30.0) == 0
    finally:
        child.stop()


def test_a_core_service_serves_prometheus_metrics(confman: ProcessRecord) -> None:
    import urllib.request

    with Proxy(confman.endpoints["commands"], timeout=5.0) as proxy:
        proxy.call("get_observation")
        url = proxy.info()["metrics"]
    with urllib.request.urlopen(url, timeout=5.0) as response:
        text = response.read().decode()
    assert 'controlroom_commands_total{command="get_observation"' in text
    assert "process_resident_memory_bytes" in text
