"""The whole chain against the running simulator: proxy → control server → driver → TCP → OGSE."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.ogse import Interlock, OGSEController
from controlroom.devices.ogse.sim.server import OGSESimulator
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def ogse() -> Iterator[tuple[OGSESimulator, DeviceProxy]]:
    # Simulated time runs 40x faster: the lamp warms up in a fraction of a second.
    simulator = OGSESimulator(port=0, speed=40.0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **OGSEController.transport_defaults)
    server = ControlServer("ogse", DeviceService(OGSEController(transport)))
    server.start()
    proxy = make_proxy(OGSEController, server.endpoint, timeout=5.0)
    try:
        yield simulator, proxy
    finally:
        proxy.close()
        server.stop()
        simulator.stop()


def test_the_lamp_lights_and_the_meters_follow_the_attenuator(
    ogse: tuple[OGSESimulator, DeviceProxy],
) -> None:
    _, og = ogse
    assert og.version().startswith("OGSE controller")
    assert og.get_interlock() == Interlock.CLOSED
    og.power_on()
    og.operate_on()
    assert wait_until(og.get_lamp, 10.0, every_s=0.05)
    full = 2.0e-6  # the simulator's pm1 behind an open attenuator
    assert wait_until(lambda: og.get_power_and_temperature()["pm1_power"] > 0.95 * full, 10.0)
    og.att_set_level_index(20)
    assert og.att_get_level()["att_index"] == 20
    assert wait_until(lambda: not og.att_get_level()["att_moving"], 10.0, every_s=0.05)
    status = og.read_status()
    assert status["att_factor"] == pytest.approx(0.01)
    assert status["pm1_power"] == pytest.approx(0.01 * full, rel=0.05)
    assert status["lamp_on"] and status["laser_on"] and not status["interlock_open"]


def test_refusals_faults_and_housekeeping_through_the_server(
    ogse: tuple[OGSESimulator, DeviceProxy],
) -> None:
    simulator, og = ogse
    with pytest.raises(RemoteError) as caught:
        og.call("att_set_level_position", 9, 1)
    assert caught.value.info.type == "ArgumentError"
    simulator.set_interlock_open(True)
    og.power_on()
    with pytest.raises(RemoteError) as caught:
        og.operate_on()
    assert caught.value.info.type == "CommandRefused"
    assert "interlock is open" in str(caught.value)
    simulator.set_interlock_open(False)
    simulator.set_lamp_broken(True)
    og.operate_on()
    assert wait_until(og.get_lamp_fault, 10.0, every_s=0.05)
    flags = og.get_flags()
    assert flags["lamp_fault"] and not flags["lamp"]
    og.reset()
    assert og.get_lamp_fault() is False
    assert wait_until(lambda: og.call("get_housekeeping") is not None, 10.0, every_s=0.05)
    sample = og.call("get_housekeeping")
    assert {"pm1_power", "pm2_temp", "att_factor", "lamp_fault", "flags"} <= set(sample["values"])
