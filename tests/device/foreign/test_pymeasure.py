"""A real PyMeasure driver (R&S HMP4040) served as a device, against our HMP4040 simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("pymeasure", reason="the [pymeasure] extra is not installed")

from pymeasure.instruments.rohdeschwarz.hmp import HMP4040

from controlroom.device import ArgumentError
from controlroom.device.foreign.build import ForeignController
from controlroom.device.foreign.pymeasure import pymeasure_controller
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.psu.sim.server import PsuSimulator
from controlroom.rpc import ControlServer, Proxy, RemoteError


@pytest.fixture
def hmp() -> Iterator[tuple[PsuSimulator, ForeignController]]:
    simulator = PsuSimulator(port=0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, read_terminator="\n")
    controller = pymeasure_controller(HMP4040, transport, {}, ["measured_voltage"], "hmp")
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
