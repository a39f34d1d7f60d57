"""The whole chain against the running simulator: proxy → control server → driver → TCP → 336."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.tempctl import HeaterRange, OutputMode, TempCtlController
from controlroom.devices.tempctl.sim.control_loop import HeaterFault
from controlroom.devices.tempctl.sim.server import LakeShore336Simulator
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def tempctl() -> Iterator[tuple[LakeShore336Simulator, DeviceProxy]]:
    # Simulated time runs 200x faster so a heat-up takes a second, not minutes.
    simulator = LakeShore336Simulator(port=0, speed=200.0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **TempCtlController.transport_defaults)
    server = ControlServer("tempctl", DeviceService(TempCtlController(transport)))
    server.start()
    proxy = make_proxy(TempCtlController, server.endpoint, timeout=5.0)
    try:
        yield simulator, proxy
    finally:
        proxy.close()
        server.stop()
        simulator.stop()


def test_a_setpoint_change_drives_the_temperature(
    tempctl: tuple[LakeShore336Simulator, DeviceProxy],
) -> None:
    _, tc = tempctl
    assert tc.identify() == "LSCI,MODEL336,SIM3360/0000000,2.9"
    start = tc.temperature("A")
    assert 70 < start < 90
    tc.set_output_mode(1, OutputMode.CLOSED_LOOP, "A")
    tc.set_setpoint(1, 120.0)
    tc.set_heater_range(1, HeaterRange.HIGH)
    assert tc.heater_range(1) == HeaterRange.HIGH
    assert wait_until(lambda: tc.temperature("A") > start + 10, 15.0, every_s=0.05)
    assert tc.heater_output(1) > 0
    # The loop holds the setpoint in the end, without a wild overshoot.
    assert wait_until(lambda: abs(tc.temperature("A") - 120.0) < 1.0, 30.0, every_s=0.05)
    assert tc.temperature("A") < 130.0


def test_refused_settings_and_faults_come_back_as_errors(
    tempctl: tuple[LakeShore336Simulator, DeviceProxy],
) -> None:
    simulator, tc = tempctl
    with pytest.raises(RemoteError) as caught:
        tc.call("set_ramp", 1, True, 0.05)  # below the 336's 0.1 K/min
    assert caught.value.info.type == "ArgumentError"
    # Accepted by the driver's range, refused by the instrument (above the sensor curve).
    tc.set_output_mode(1, OutputMode.CLOSED_LOOP, "A")
    with pytest.raises(RemoteError) as caught:
        tc.set_setpoint(1, 1400.0)
    assert caught.value.info.type == "CommandRefused"

    simulator.set_heater_fault(1, HeaterFault.OPEN_LOAD)
    assert tc.heater_status(1) == 1
    sample = tc.call("get_housekeeping")
    assert sample is None or "temp_A" in sample["values"]
