"""The README's YAML instrument works as written: its table, its simulator, its driver."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from controlroom.device import ArgumentError
from controlroom.device.table import controller_class, parse_table
from controlroom.device.table.simulated import TableSimulation
from controlroom.device.transports.inproc import InProcessTransport

README = Path(__file__).resolve().parents[3] / "README.md"


def _readme_table() -> dict[str, object]:
    section = README.read_text().split("instruments from a YAML command table", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the README section lost its example"
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def test_the_readme_gauge_is_served_as_the_readme_says() -> None:
    table = parse_table(_readme_table(), "README.md")
    simulation = TableSimulation(table)
    gauge = controller_class(table)(InProcessTransport(simulation.handle_line))
    gauge.connect()
    assert gauge.pressure(2) == 2.5e-06 and gauge.pressure() == 2.4e-06
    gauge.set_unit(1)
    assert simulation.state["unit"] == 1
    with pytest.raises(ArgumentError, match="unit"):
        gauge.set_unit(3)
    assert set(gauge.housekeeping()) == {"pressure"}
    gauge.degas_off()
    assert list(simulation.received)[-2:] == ["DGS 0", "SYST:ERR?"]
    assert type(gauge).commands()["degas_off"].interrupts
