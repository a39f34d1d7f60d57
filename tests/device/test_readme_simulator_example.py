"""The README's "new SCPI instrument" example runs as written on the simulator kit."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def example() -> Iterator[types.ModuleType]:
    section = README.read_text().split("### A new SCPI instrument", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README section lost its example"
    module = types.ModuleType("readme_example")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(code.group(1), "README.md", "exec"), module.__dict__)  # our own README
        yield module
    finally:
        del sys.modules[module.__name__]


def test_the_readme_simulator_answers_as_the_readme_says(example: Any) -> None:
    simulator = example.LoadSimulator()
    assert simulator.handle_line("*IDN?") == "ACME,EL1,0001,1.0"
    assert simulator.handle_line("sour:curr:lev 1500mA") is None
    assert simulator.state.amps == 1.5
    assert simulator.handle_line("SOUR:CURR:LEV 40") is None
    assert simulator.state.amps == 1.5
    error = simulator.handle_line("SYST:ERR?")
    assert error is not None and error.startswith("-222,")
    assert simulator.handle_line("SYSTem:ERRor:NEXT?") == '0,"No error"'
