"""A real PyMeasure driver (R&S HMP4040) served as a device, against our HMP4040 simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("pymeasure", reason="the [pymeasure] extra is not installed")

from pymeasure.instruments.rohdeschwarz.hmp import HMP4040

from controlroom.device import ArgumentError
from controlroom.device.foreign.build import ForeignController, ForeignDriverError
from controlroom.device.foreign.pymeasure import pymeasure_commands, pymeasure_controller
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.psu.sim.server import PsuSimulator
from controlroom.rpc import ControlServer, Proxy, RemoteError


@pytest.fixture
def hmp() -> Iterator[tuple[PsuSimulator, ForeignController]]:
    simulator = PsuSimulator(port=0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, read_terminator="\n")
    controller = pymeasure_controller(
        HMP4040, transport, {}, ["measured_voltage"], "hmp", methods=["beep", "step_voltage_up"]
    )
    try:
        yield simulator, controller
    finally:
        controller.disconnect()
        simulator.stop()


def test_controls_measurements_and_methods_become_commands(
    hmp: tuple[PsuSimulator, ForeignController],
) -> None:
    _, supply = hmp
    commands = type(supply).commands()
    assert {"voltage", "set_voltage", "measured_voltage", "beep", "id"} <= set(commands)
    assert "load_sequence" not in commands  # a method is served only when the entry names it
    assert "set_measured_voltage" not in commands  # a measurement cannot be set
    assert not {"write", "ask", "read", "values"} & set(commands)  # raw I/O is never served
    assert commands["voltage"].access == "read" and commands["set_voltage"].access == "command"
    assert supply.id().startswith("ROHDE&SCHWARZ,HMP4040")
    supply.set_selected_channel(2)
    supply.set_voltage(5.0)
    supply.set_current(0.5)
    supply.set_output_enabled(True)
    assert supply.voltage() == 5.0 and supply.output_enabled() is True
    assert set(supply.housekeeping()) == {"measured_voltage"}


def test_valid_values_are_checked_and_described(
    hmp: tuple[PsuSimulator, ForeignController],
) -> None:
    _, supply = hmp
    described = {c["name"]: c for c in DeviceService(supply).describe()}
    channel = described["set_selected_channel"]["params"]["properties"]["value"]
    assert channel == {"type": "integer", "enum": [1, 2, 3, 4]}
    step = described["set_voltage_step"]["params"]["properties"]["value"]
    assert step["minimum"] == 0 and step["maximum"] == 32.05
    assert "output voltage" in described["voltage"]["doc"]
    with pytest.raises(ArgumentError, match="7 is not one of 1, 2, 3, 4"):
        supply.set_selected_channel(7)


def test_served_and_called_through_a_control_server(
    hmp: tuple[PsuSimulator, ForeignController],
) -> None:
    _, supply = hmp
    server = ControlServer("hmp", DeviceService(supply))
    server.start()
    try:
        with Proxy(server.endpoint, timeout=5.0) as proxy:
            proxy.call("set_selected_channel", 3)
            assert proxy.call("selected_channel") == 3
            with pytest.raises(RemoteError, match="not one of"):
                proxy.call("set_selected_channel", 9)
            with pytest.raises(RemoteError, match="no command 'write'"):
                proxy.call("write", "*RST")
    finally:
        server.stop()


def test_methods_that_reach_raw_io_or_files_are_never_served() -> None:
    for method in ("write", "ask", "values", "_private", "no_such_method"):
        with pytest.raises(ForeignDriverError, match="may be served"):
            list(pymeasure_commands(HMP4040, [method]))


def test_a_method_taking_a_file_name_is_refused() -> None:
    class Logger(HMP4040):  # type: ignore[misc]
        def save_log(self, filename: str) -> None:
            """Would open a file on the server's host."""

    with pytest.raises(ForeignDriverError, match="takes a file name"):
        list(pymeasure_commands(Logger, ["save_log"]))


def test_text_values_cannot_carry_a_second_command(
    hmp: tuple[PsuSimulator, ForeignController],
) -> None:
    _, supply = hmp
    with pytest.raises(ArgumentError, match="quote, ';' or a control character"):
        supply.set_voltage("5;*RST")
