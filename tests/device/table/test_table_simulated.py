"""The simulator a command table gives: state, scripted replies, and refusals as the instrument."""

from __future__ import annotations

from typing import Any

from controlroom.device.table import parse_table
from controlroom.device.table.simulated import TableSimulation

GAUGE: dict[str, Any] = {
    "instrument": {"name": "gauge"},
    "commands": {
        "set_unit": {
            "write": "UNI,${unit}",
            "args": {"unit": {"type": "int", "range": [0, 2]}},
            "sim": {"set": {"unit_code": "${unit}"}},
        },
        "unit": {"query": "UNI", "returns": "int", "sim": {"reply": "${unit_code}"}},
        "pressure": {
            "query": "PR${channel}",
            "args": {"channel": {"type": "int", "choices": [1, 2]}},
            "returns": {"type": "float", "split": ",", "index": 1},
            "sim": {"replies": ["0,1.0E-05", "0,9.0E-06"]},
        },
        "degas": {"write": "DGS"},
    },
    "simulator": {"state": {"unit_code": 0}, "refusal": "ERR"},
}


def test_a_line_instrument_keeps_state_and_answers_its_scripted_replies() -> None:
    sim = TableSimulation(parse_table(GAUGE, "gauge.yaml"))
    assert sim.handle_line("UNI") == "0"
    assert sim.handle_line("UNI,2") is None
    assert sim.handle_line("uni") == "2"  # matched as instruments match: any case
    assert [sim.handle_line("PR1") for _ in range(3)] == ["0,1.0E-05", "0,9.0E-06", "0,1.0E-05"]
    assert sim.handle_line("UNI,7") == "ERR"  # out of range: the table's refusal
    assert sim.handle_line("PR3") == "ERR"  # not a choice
    assert sim.handle_line("HELLO") == "ERR"  # not a command
    assert sim.handle_line("UNI") == "2"  # nothing refused changed the state
    sim.reset()
    assert sim.handle_line("UNI") == "0" and sim.received[-1] == "UNI"


def test_a_scpi_instrument_queues_numbered_errors_and_answers_several_commands_a_line() -> None:
    table = dict(GAUGE, errors="scpi")
    table["simulator"] = {"state": {"unit_code": 1}, "identity": "ACME,G1,7,1.0"}
    sim = TableSimulation(parse_table(table, "gauge.yaml"))
    assert sim.handle_line("*IDN?") == "ACME,G1,7,1.0"
    assert sim.handle_line("*CLS;:UNI;:SYST:ERR?") == '1;0,"No error"'
    assert sim.handle_line("UNI,9;UNI,x;NOPE") is None
    assert sim.handle_line("SYST:ERR?") == '-222,"Data out of range;unit=9"'
    assert sim.handle_line("SYST:ERR?") == '-104,"Data type error;unit=x"'
    assert sim.handle_line("SYST:ERR?") == '-113,"Undefined header"'
    assert sim.handle_line("SYST:ERR?") == '0,"No error"'
    assert sim.handle_line("*OPC?") == "1"


def test_crafted_lines_are_answered_in_linear_time_and_refused() -> None:
    table = {
        "instrument": {"name": "m"},
        "errors": "scpi",
        "commands": {
            "set": {
                "write": "SET ${a},${b},${c},${d}",
                "args": {name: "float" for name in "abcd"},
            },
        },
    }
    sim = TableSimulation(parse_table(table, "m.yaml"))
    # Lazy captures took tens of seconds on this line; possessive ones refuse it at once.
    assert sim.handle_line("SET " + "," * 400 + " X") is None
    assert sim.handle_line("SYST:ERR?") == '-113,"Undefined header"'
    assert sim.handle_line("SET 1,2,3,4") is None and sim.state["d"] == 4.0
    assert sim.handle_line("X" * 5000) is None
    assert sim.handle_line("SYST:ERR?").startswith("-102,")
