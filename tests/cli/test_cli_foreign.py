"""PyMeasure and QCoDeS drivers as devices from the command line: served, described, called."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.conftest import ANY_PORT, serve_on_its_simulator, stop_served
from typer.testing import Result

Cli = Callable[..., Result]
Controlroom = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.integration


def _entry(key: str, driver: str, simulator: str, **more: Any) -> dict[str, Any]:
    return {
        key: driver,
        "transport": "tcp://127.0.0.1:1",  # the real one; --sim uses the simulator below
        "simulator": {"module": simulator, "port": 0},
        "commands": ANY_PORT,
        "publish": ANY_PORT,
        **more,
    }


def test_a_pymeasure_driver_is_a_device(
    write_settings: Callable[..., Path], cli: Cli, controlroom: Controlroom, detached: Any
) -> None:
    pytest.importorskip("pymeasure", reason="the [pymeasure] extra is not installed")
    driver = "pymeasure.instruments.rohdeschwarz.hmp:HMP4040"
    write_settings(
        hmp=_entry(
            "pymeasure",
            driver,
            "controlroom.devices.psu.sim.server",
            housekeeping=["measured_voltage"],
        )
    )
    serve_on_its_simulator(controlroom, "hmp")
    try:
        listing = cli("info", "hmp")
        assert listing.exit_code == 0, listing.stderr
        for expected in ("set_selected_channel", "value: one of 1|2|3|4", "0..32.05"):
            assert expected in listing.stdout
        assert cli("call", "hmp", "set_voltage_step", "0.5").exit_code == 0
        assert json.loads(cli("call", "hmp", "voltage_step", "--json").stdout) == 0.5
        refused = cli("call", "hmp", "set_selected_channel", "9")
        assert refused.exit_code != 0 and "argument 'value'" in refused.stderr
    finally:
        stop_served(controlroom, "hmp")


def test_a_qcodes_driver_is_a_device(
    write_settings: Callable[..., Path], cli: Cli, controlroom: Controlroom, detached: Any
) -> None:
    pytest.importorskip("qcodes", reason="the [qcodes] extra is not installed")
    driver = "qcodes.instrument_drivers.Lakeshore:LakeshoreModel336"
    write_settings(
        ls336=_entry(
            "qcodes",
            driver,
            "controlroom.devices.tempctl.sim.server",
            options={"terminator": "\r\n"},
            housekeeping=["a_temperature"],
        )
    )
    serve_on_its_simulator(controlroom, "ls336")
    try:
        listing = cli("info", "ls336")
        assert listing.exit_code == 0, listing.stderr
        assert "set_output_1_setpoint" in listing.stdout and "-273.15..400" in listing.stdout
        kelvin = json.loads(cli("call", "ls336", "a_temperature", "--json").stdout)
        assert 50.0 < kelvin < 400.0
    finally:
        stop_served(controlroom, "ls336")
