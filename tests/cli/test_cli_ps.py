"""``controlroom ps``, ``procman run|start|stop``, ``cs start|stop`` through it, ``systemd``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from typer.testing import Result

from controlroom.cli.systemd import exec_line
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.services.registry.server import build_server as build_registry
from controlroom.testing.waiting import wait_until

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]
Detached = Callable[[str, str], ProcessRecord]
SettingsWriter = Callable[..., Path]
SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios")


def processes(cli: Cli) -> dict[str, dict[str, Any]]:
    result = cli("ps", "--json")
    assert result.exit_code == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def states(cli: Cli) -> dict[str, str]:
    return {name: p["state"] for name, p in processes(cli).items()}


def write_setup(path: Path, devices: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"devices": devices}))
    return path


def test_ps_without_a_process_manager_says_so(cli: Cli) -> None:
    result = cli("ps")
    assert result.exit_code == 1
    assert "no process manager runs at tcp://127.0.0.1:" in result.stderr
    assert "controlroom procman start" in result.stderr


@pytest.mark.integration
def test_the_process_manager_runs_the_setup_and_cs_goes_through_it(
    cli: Cli, controlroom: Controlroom, detached: Detached, tmp_path: Path
) -> None:
    started = controlroom("procman", "start", "--start-all")
    assert started.returncode == 0, started.stderr
    assert "process manager started (pid" in started.stdout
    record = detached("cs", "procman")
    running = dict.fromkeys((*SERVICES, "web"), "running")
    assert wait_until(lambda: states(cli) == running, 30.0), states(cli)

    # Not in the Setup: `cs start` starts it itself, as without a process manager.
    alone = cli("cs", "start", "dummy")
    assert alone.exit_code == 0 and "process manager" not in alone.stdout, alone.stderr
    assert "process manager" not in cli("cs", "stop", "dummy").stdout

    setup = write_setup(tmp_path / "setup.yaml", {"dummy": {}})
    assert cli("setup", "submit", str(setup), "-m", "the dummy").exit_code == 0
    assert cli("setup", "load", "1").exit_code == 0
    assert wait_until(lambda: states(cli) == {**running, "dummy": "running"}, 30.0)

    stopped = cli("cs", "stop", "dummy")
    assert stopped.stdout.strip() == "dummy control server stopped by the process manager"
    assert states(cli)["dummy"] == "stopped"
    again = cli("cs", "start", "dummy", "--sim")
    assert again.exit_code == 0, again.stderr
    assert "dummy control server started by the process manager (hardware, as the Setup" in (
        again.stdout
    )
    table = cli("ps")
    assert table.exit_code == 0
    rows = [[c.strip() for c in line.split("│") if c.strip()] for line in table.stdout.splitlines()]
    assert ["dummy", "device", "running"] in [row[:3] for row in rows]

    pids = [p["pid"] for p in processes(cli).values()]
    assert controlroom("procman", "stop").returncode == 0
    assert record.process() is None
    assert not any(psutil.pid_exists(pid) for pid in pids)


def test_systemd_writes_one_unit_per_process(
    cli: Cli, write_settings: SettingsWriter, tmp_path: Path
) -> None:
    settings_file = write_settings(tempctl={"simulator": {"host": "127.0.0.1", "port": 7777}})
    setup = write_setup(tmp_path / "setup.yaml", {"tempctl": {"simulated": True}, "dummy": {}})
    units = tmp_path / "units"
    result = cli("systemd", str(units), "--setup", str(setup))
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in units.iterdir())
    assert names == sorted(
        [f"controlroom-{n}.service" for n in (*SERVICES, "web", "tempctl-sim", "tempctl", "dummy")]
        + ["controlroom.target"]
    )
    unit = (units / "controlroom-tempctl.service").read_text()
    assert "ExecStart=" in unit and " -m controlroom.processes.device tempctl --sim" in unit
    assert "--transport tcp://127.0.0.1:7777" in unit
    assert "Restart=on-failure\nRestartSec=0.5s\n" in unit
    after = "After=network-online.target controlroom-registry.service controlroom-logman.service"
    assert after in unit and "controlroom-tempctl-sim.service" in unit
    assert f"Environment=CONTROLROOM_LOCAL_SETTINGS={settings_file}" in unit
    assert "StartLimitBurst=6" in unit and "WantedBy=controlroom.target" in unit
    registry = (units / "controlroom-registry.service").read_text()
    assert "After=network-online.target\n" in registry
    target = (units / "controlroom.target").read_text()
    assert "controlroom-dummy.service" in target and "WantedBy=multi-user.target" in target


def test_systemd_for_another_host_and_its_refusals(
    cli: Cli, local_settings: Path, tmp_path: Path
) -> None:
    setup = write_setup(tmp_path / "setup.yaml", {"dummy": {"host": "lab-pc-9"}})
    units = tmp_path / "units"
    result = cli("systemd", str(units), "--setup", str(setup), "--host", "lab-pc-9")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in units.iterdir()) == [
        "controlroom-dummy.service",
        "controlroom.target",
    ]
    # The test settings leave the simulator on port 0: a unit could not know the port.
    simulated = write_setup(tmp_path / "sim.yaml", {"tempctl": {"simulated": True}})
    refused = cli("systemd", str(units), "--setup", str(simulated))
    assert refused.exit_code == 1
    assert "give tempctl-sim a fixed port in the Settings" in refused.stderr
    unknown = write_setup(tmp_path / "unknown.yaml", {"cryostat": {}})
    refused = cli("systemd", str(units), "--setup", str(unknown))
    assert refused.exit_code == 1 and "'cryostat', not in the Settings" in refused.stderr


def test_exec_lines_are_escaped_for_systemd() -> None:
    assert exec_line(["/usr/bin/python", "-m", "a.b"]) == "/usr/bin/python -m a.b"
    assert exec_line(["/opt/my env/python", "50%", "$HOME", 'say "hi"']) == (
        '"/opt/my env/python" 50%% "$$HOME" "say \\"hi\\""'
    )


@pytest.fixture
def bench_lab(lab_settings: Callable[[dict[str, Any]], Path]) -> dict[str, Any]:
    """Settings with a bench host sharing this machine; their core service endpoints."""
    path = lab_settings({"hosts": {"bench": "127.0.0.2", "desk": "10.0.0.3"}})
    return dict(yaml.safe_load(path.read_text())["services"])


def test_ps_asks_another_host_s_process_manager_through_the_registry(
    cli: Cli, bench_lab: dict[str, Any]
) -> None:
    refused = cli("ps", "--host", "bench")
    assert refused.exit_code == 1 and "the registry at tcp://127.0.0.1:" in refused.stderr
    registry = build_registry({"services": {"registry": bench_lab["registry"]}}, ttl_s=30.0)
    rows = [{"name": "psu", "kind": "device", "state": "running", "pid": 4242}]
    bench = ControlServer("procman@bench", FunctionTable({"list_processes": lambda: rows}))
    registry.start()
    bench.start()
    try:
        missing = cli("ps", "--host", "bench")
        assert missing.exit_code == 1
        assert "no process manager of host 'bench' is registered" in missing.stderr
        with Proxy(registry.endpoint, timeout=5.0) as proxy:
            entry = (bench.endpoint, "procman@bench")
            proxy.request("register", (entry[1], {"commands": entry[0]}, {"host": "bench"}))
            proxy.request("register", ("procman@desk", {"commands": entry[0]}, {"host": "desk"}))
        listed = cli("ps", "--host", "bench", "--json")
        assert listed.exit_code == 0, listed.stderr
        assert json.loads(listed.stdout) == rows
        assert "processes of host bench" in cli("ps", "--host", "bench").stdout
        # desk is another machine: its loopback endpoint would reach this one instead.
        far = cli("ps", "--host", "desk")
        assert far.exit_code == 1 and "cannot be reached from here" in far.stderr
    finally:
        bench.stop()
        registry.stop()


def test_up_refuses_a_host_the_settings_do_not_list(cli: Cli, bench_lab: dict[str, Any]) -> None:
    refused = cli("up", "--host", "hexapod")
    assert refused.exit_code == 1
    assert "--host: 'hexapod' is not a host of the Settings' `hosts`" in refused.stderr
    assert "bench" in refused.stderr
