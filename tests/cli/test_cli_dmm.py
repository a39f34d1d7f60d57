"""A YAML instrument from the command line: its table's simulator, a server on it, info, calls."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.cli.conftest import ANY_PORT, serve_on_its_simulator, stop_served
from typer.testing import Result

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.integration

ON_ANY_PORT = {"commands": ANY_PORT, "publish": ANY_PORT, "simulator": {"port": 0}}


def test_the_shipped_keithley_table_is_served_described_and_called(
    write_settings: Callable[..., Path], cli: Cli, controlroom: Controlroom, detached: Any
) -> None:
    write_settings(dmm=ON_ANY_PORT)
    serve_on_its_simulator(controlroom, "dmm")
    try:
        listing = cli("info", "dmm")
        assert listing.exit_code == 0, listing.stderr
        for expected in (
            "set_voltage_range",
            "volts: number 0..1010",
            "function: one of",
            "interrupts",
        ):
            assert expected in listing.stdout
        described = json.loads(cli("info", "dmm", "--json").stdout)
        commands = {c["name"]: c for c in described["commands"]}
        assert commands["measure_voltage"]["returns"]["x-unit"] == "V"

        assert cli("call", "dmm", "set_voltage_range", "10").exit_code == 0
        assert json.loads(cli("call", "dmm", "voltage_range", "--json").stdout) == 10.0
        volts = json.loads(cli("call", "dmm", "measure_voltage", "--json").stdout)
        assert volts == pytest.approx(1.0001, abs=1e-3)
        refused = cli("call", "dmm", "set_voltage_range", "2000")
        assert refused.exit_code != 0 and "volts" in refused.stderr
        assert cli("call", "dmm", "abort").exit_code == 0
    finally:
        stop_served(controlroom, "dmm")


GAUGE_TABLE = """
instrument: {name: gauge, description: A line-protocol vacuum gauge}
transport: {read_terminator: "\\n", write_terminator: "\\n"}
commands:
  pressure:
    doc: Pressure of one channel.
    query: "PR${channel}"
    args: {channel: {type: int, choices: [1, 2]}}
    returns: {type: float, unit: mbar, split: ",", index: 1}
    sim: {reply: "0,2.5E-06"}
  pressure_1:
    query: "PR1"
    returns: {type: float, unit: mbar, split: ",", index: 1}
    housekeeping: true
    sim: {reply: "0,2.5E-06"}
"""


def test_a_labs_own_table_in_its_tables_folder_becomes_a_device(
    tmp_path: Path,
    write_settings: Callable[..., Path],
    cli: Cli,
    controlroom: Controlroom,
    detached: Any,
) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "gauge.yaml").write_text(GAUGE_TABLE)
    path = write_settings(
        gauge={
            "table": "gauge",
            "transport": "tcp://127.0.0.1:1",
            "simulator": {
                "module": "controlroom.devices.tables.sim.server",
                "args": ["--table", "gauge"],  # found in locations.tables, as the server finds it
                "port": 0,
            },
            "commands": ANY_PORT,
            "publish": ANY_PORT,
        }
    )
    settings = yaml.safe_load(path.read_text())
    settings["locations"]["tables"] = str(folder)  # where the lab keeps its own tables
    path.write_text(yaml.safe_dump(settings))
    serve_on_its_simulator(controlroom, "gauge")
    try:
        listing = cli("info", "gauge")
        assert "channel: one of 1|2" in listing.stdout, listing.stdout
        assert json.loads(cli("call", "gauge", "pressure", "2", "--json").stdout) == 2.5e-06
    finally:
        stop_served(controlroom, "gauge")
