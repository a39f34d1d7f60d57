"""The whole chain against the running simulator: proxy → control server → driver → TCP → DAQ."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.daq import DaqController, TempUnit, Transducer
from controlroom.devices.daq.sim.server import DaqSimulator
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def daq() -> Iterator[tuple[DaqSimulator, DeviceProxy]]:
    # Simulated time runs 200x faster: a minute of heating takes a third of a second.
    simulator = DaqSimulator(port=0, speed=200.0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **DaqController.transport_defaults)
    server = ControlServer("daq", DeviceService(DaqController(transport, poll_s=0.005)))
    server.start()
    proxy = make_proxy(DaqController, server.endpoint, timeout=10.0)
    try:
        yield simulator, proxy
    finally:
        proxy.close()
        server.stop()
        simulator.stop()


def test_a_scan_reads_the_lab_and_follows_a_heater(
    daq: tuple[DaqSimulator, DeviceProxy],
) -> None:
    simulator, proxy = daq
    assert proxy.identify() == "KEITHLEY INSTRUMENTS,MODEL DAQ6510,SIM06510,1.7.12b"
    proxy.configure("105:106", Transducer.TC, "T", TempUnit.K, 10)
    proxy.set_scan_list("105:106,117,203")
    proxy.set_scan_count(2)
    assert proxy.scan_list() == [105, 106, 117, 203]
    first = proxy.scan()
    assert set(first) == {"105", "106", "117", "203"}
    assert 70 < first["117"] < 90  # the cryostat's sample stage sits near the LN2 bath
    assert first["105"] == pytest.approx(simulator.temperature("camera"), abs=0.5)

    simulator.set_heater("camera", 100.0)
    assert wait_until(lambda: proxy.scan()["203"] > first["203"] + 5.0, 20.0, every_s=0.02)
    sample = proxy.call("get_housekeeping")
    assert sample is None or "temp_203" in sample["values"]


def test_faults_and_refusals_come_back_as_errors(daq: tuple[DaqSimulator, DeviceProxy]) -> None:
    simulator, proxy = daq
    simulator.set_open_sensor(105)
    assert proxy.measure(105) is None
    proxy.set_scan_list("104:106")
    assert proxy.scan()["105"] is None

    with pytest.raises(RemoteError) as caught:
        proxy.measure(220)  # not configured for temperature
    assert caught.value.info.type == "CommandRefused"
    assert "-221" in str(caught.value)
    with pytest.raises(RemoteError) as caught:
        proxy.call("set_scan_list", "101:121")
    assert caught.value.info.type == "ArgumentError"
    assert proxy.identify().startswith("KEITHLEY")  # the server keeps serving
