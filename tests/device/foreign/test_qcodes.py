"""A real QCoDeS driver (Lake Shore 336) served as a device, on our Lake Shore 336 simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("qcodes", reason="the [qcodes] extra is not installed")

from qcodes.instrument_drivers.Lakeshore import LakeshoreModel336

from controlroom.device import ArgumentError
from controlroom.device.foreign.build import ForeignController, ForeignDriverError
from controlroom.device.foreign.qcodes import qcodes_controller, visa_address
from controlroom.device.serving import DeviceService
from controlroom.devices.tempctl.sim.server import LakeShore336Simulator


@pytest.fixture
def lakeshore() -> Iterator[ForeignController]:
    simulator = LakeShore336Simulator(port=0)
    simulator.start()
    url = f"tcp://127.0.0.1:{simulator.port}"
    controller = qcodes_controller(
        LakeshoreModel336, url, {"terminator": "\r\n"}, ["a_temperature"], "ls336_test"
    )
    try:
        yield controller
    finally:
        controller.disconnect()
        simulator.stop()


def test_parameters_of_the_instrument_and_its_channels_become_commands(
    lakeshore: ForeignController,
) -> None:
    commands = type(lakeshore).commands()
    assert {"a_temperature", "output_1_setpoint", "set_output_1_setpoint"} <= set(commands)
    assert "set_a_temperature" not in commands and "timeout" not in commands
    assert 50.0 < lakeshore.a_temperature() < 400.0
    lakeshore.set_output_1_setpoint(80.0)
    assert lakeshore.output_1_setpoint() == 80.0
    assert set(lakeshore.housekeeping()) == {"a_temperature"}


def test_validators_units_and_labels_reach_the_schema(lakeshore: ForeignController) -> None:
    described = {c["name"]: c for c in DeviceService(lakeshore).describe()}
    setpoint = described["set_output_1_setpoint"]["params"]["properties"]["value"]
    assert setpoint["type"] == "number" and setpoint["maximum"] == 400
    assert described["a_temperature"]["doc"] == "Temperature [K]"
    with pytest.raises(ArgumentError, match="outside the range"):
        lakeshore.set_output_1_setpoint(500.0)


def test_only_a_tcp_transport_becomes_a_visa_address() -> None:
    assert visa_address("tcp://192.168.1.50:7777") == "TCPIP::192.168.1.50::7777::SOCKET"
    with pytest.raises(ForeignDriverError, match="tcp://host:port"):
        visa_address("serial:///dev/ttyUSB0")
