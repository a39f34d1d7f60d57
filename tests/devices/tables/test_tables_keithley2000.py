"""A controller built from a command table: the strings it sends, what it reads, its schema."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.device.serving import DeviceService
from controlroom.device.table import TableError, controller_class, load_table, parse_table
from controlroom.device.table.simulated import TableSimulation
from controlroom.device.transports.inproc import InProcessTransport
from controlroom.devices.tables import PACKAGED_TABLES
from controlroom.testing import expected_protocol

KEITHLEY = load_table("keithley2000", [PACKAGED_TABLES])
Keithley2000 = controller_class(KEITHLEY)
OK = '0,"No error"'


def test_settings_and_queries_are_sent_with_the_error_check_and_read_back() -> None:
    pairs = [
        ("*CLS;:SENS:VOLT:DC:RANG 10.0;:SYST:ERR?", OK),
        ('*CLS;:SENS:FUNC "RES";:SYST:ERR?', OK),
        ("*CLS;:MEAS:VOLT:DC?;:SYST:ERR?", "+1.00012345E+00VDC;" + OK),
        ("*CLS;:FETC?;:SYST:ERR?", "+1.5E+00,+2.5E+00;" + OK),
        ("*CLS;:SENS:VOLT:DC:RANG:AUTO?;:SYST:ERR?", "1;" + OK),
        ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1,A19"),
    ]
    with expected_protocol(Keithley2000, pairs) as meter:
        assert meter.set_voltage_range(10) is None
        meter.set_function("res")  # choices are matched as instruments match them
        assert meter.measure_voltage() == pytest.approx(1.00012345)
        assert meter.fetch() == [1.5, 2.5]
        assert meter.autorange() is True
        assert meter.identify().startswith("KEITHLEY")


def test_refusals_raise_before_sending_or_from_the_error_queue() -> None:
    with expected_protocol(Keithley2000, []) as meter:
        with pytest.raises(ArgumentError, match="volts"):
            meter.set_voltage_range(2000)
        with pytest.raises(ArgumentError, match="function"):
            meter.set_function("VOLT:DD")
    refused = [("*CLS;:SAMP:COUN 5;:SYST:ERR?", '-221,"Settings conflict"')]
    with expected_protocol(Keithley2000, refused) as meter, pytest.raises(CommandRefused) as caught:
        meter.set_sample_count(5)
    assert caught.value.code == -221
    garbled = [("*CLS;:MEAS:VOLT:DC?;:SYST:ERR?", "overload;" + OK)]
    with (
        expected_protocol(Keithley2000, garbled) as meter,
        pytest.raises(ReplyError, match="overload"),
    ):
        meter.measure_voltage()


def test_the_schema_has_types_ranges_choices_units_and_roles() -> None:
    commands = {spec["name"]: spec for spec in DeviceService(Keithley2000(None)).describe()}  # type: ignore[arg-type]
    volts = commands["set_voltage_range"]["params"]["properties"]["volts"]
    assert volts == {"type": "number", "minimum": 0, "maximum": 1010, "x-unit": "V"}
    assert "RES" in commands["set_function"]["params"]["properties"]["function"]["enum"]
    assert commands["measure_voltage"]["returns"] == {"type": "number", "x-unit": "V"}
    assert commands["fetch"]["returns"] == {"type": "array", "items": {"type": "number"}}
    assert commands["measure_voltage"]["access"] == "read"
    assert commands["set_voltage_range"]["access"] == "command"
    assert commands["abort"]["interrupts"] is True
    assert commands["set_function"]["doc"] == "What the meter measures."


def test_a_controller_on_the_tables_own_simulation_measures_and_keeps_housekeeping() -> None:
    simulation = TableSimulation(KEITHLEY)
    meter = Keithley2000(InProcessTransport(simulation.handle_line))
    meter.connect()
    meter.set_function("RES")
    assert meter.function() == "RES"
    meter.set_voltage_range(10)
    assert meter.voltage_range() == 10.0 and meter.autorange() is False
    readings = [meter.measure_voltage() for _ in range(5)]
    assert readings[0] == readings[4] != readings[1]  # the scripted readings go round
    sample = meter.housekeeping()
    assert set(sample) == {"dc_volts", "resistance"} and sample["resistance"] == 100.003
    assert meter.status() == {"function": "RES"}
    meter.reset()
    assert meter.function() == "VOLT:DC" and meter.autorange() is True


def test_command_names_the_server_uses_are_refused() -> None:
    for taken in ("ping", "housekeeping", "connect"):
        table = parse_table({"instrument": {"name": "m"}, "commands": {taken: {"write": "X"}}}, "m")
        with pytest.raises(TableError, match=f"commands.{taken}: the name is taken"):
            controller_class(table)
