"""The whole chain against the running simulator: proxy → control server → driver → TCP → supply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controlroom.device import ArgumentError
from controlroom.device.proxy import DeviceProxy, make_proxy
from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.psu import OutputMode, PsuController
from controlroom.devices.psu.sim.server import PsuSimulator
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def psu() -> Iterator[tuple[PsuSimulator, DeviceProxy]]:
    # Real command delays: the driver must live with an instrument that takes its time.
    simulator = PsuSimulator(port=0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **PsuController.transport_defaults)
    server = ControlServer("psu", DeviceService(PsuController(transport)))
    server.start()
    proxy = make_proxy(PsuController, server.endpoint, timeout=5.0)
    try:
        yield simulator, proxy
    finally:
        proxy.close()
        server.stop()
        simulator.stop()


def test_cv_to_cc_and_back_through_the_proxy(psu: tuple[PsuSimulator, DeviceProxy]) -> None:
    simulator, supply = psu
    assert supply.identify().startswith("ROHDE&SCHWARZ,HMP4040,")
    supply.apply(1, 10.0, 2.0)  # 10 ohm load: 1 A
    supply.set_output(1, True)
    assert wait_until(lambda: supply.mode(1) == OutputMode.CV and supply.measure_voltage(1) > 9.9)
    assert supply.measure_current(1) == pytest.approx(1.0, abs=0.002)
    simulator.set_load(1, "4")  # would draw 2.5 A: held at 2 A, the voltage drops to 8 V
    assert supply.mode(1) == OutputMode.CC
    assert supply.measure_voltage(1) == pytest.approx(8.0, abs=0.005)
    assert supply.measure_current(1) == pytest.approx(2.0, abs=0.002)
    # The server's own HK poll sees the same: one exchange for all four channels.
    assert wait_until(lambda: _published(supply.get_housekeeping(), "mode_1") == "CC", 10.0)


def test_protections_and_refusals_come_back_as_errors(
    psu: tuple[PsuSimulator, DeviceProxy],
) -> None:
    simulator, supply = psu
    with pytest.raises(ArgumentError):
        supply.set_voltage(3, 33.0)  # above 32.050 V: refused before it leaves the client
    with pytest.raises(RemoteError) as caught:
        supply.link_fuse(3, 3)
    assert caught.value.info.type == "ArgumentError"

    supply.apply(3, 5.0, 1.0)  # 5 ohm load: exactly 1 A
    supply.set_ovp_level(3, 4.0)
    supply.set_output(3, True)
    assert wait_until(lambda: supply.ovp_tripped(3))
    assert supply.output(3) is False
    with pytest.raises(RemoteError) as caught:
        supply.set_output(3, True)
    assert caught.value.info.type == "CommandRefused"
    assert "-221" in str(caught.value)
    supply.clear_ovp(3)
    supply.set_ovp_level(3, 33.0)
    supply.set_output(3, True)
    assert wait_until(lambda: supply.measure_voltage(3) > 4.9)
    assert supply.errors() == []
    assert wait_until(lambda: _published(supply.get_status(), "output_3") is True, 10.0)
    assert supply.get_status()["values"]["ovp_tripped_3"] is False

    supply.set_ocp(3, True)  # the fuse: any more load than 1 A trips it
    simulator.set_load(3, "2")
    assert wait_until(lambda: supply.ocp_tripped(3))
    assert supply.output(3) is False
    supply.clear_ocp(3)
    assert supply.ocp_tripped(3) is False and supply.output(3) is False


def _published(sample: dict[str, Any] | None, name: str) -> Any:
    return None if sample is None else sample["values"].get(name)
