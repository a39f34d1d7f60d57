"""The demo tasks against real control servers: the dummy sensor and the simulated 336."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from controlroom.device.serving import DeviceService
from controlroom.device.transports import TcpTransport
from controlroom.devices.dummy import DummySensor
from controlroom.devices.tempctl import TempCtlController
from controlroom.devices.tempctl.sim.server import LakeShore336Simulator
from controlroom.obs import demo_tasks, observation
from controlroom.obs.taskservers import SettingsServers, server_proxy, use_servers
from controlroom.rpc import ControlServer, Proxy

if TYPE_CHECKING:  # fixtures' types only: several conftest modules share that name
    from conftest import Confman

NOBODY = "tcp://127.0.0.1:1"


class Directory:
    """The servers of a test, by name."""

    def __init__(self, endpoints: dict[str, str]) -> None:
        self.endpoints = endpoints

    def names(self) -> list[str]:
        return sorted(self.endpoints)

    def proxy(self, name: str, *, timeout: float | None = None) -> Proxy:
        return Proxy(self.endpoints[name], name=name, timeout=timeout or 5.0)


@pytest.fixture
def lab() -> Iterator[Directory]:
    """The dummy sensor served in this process, and a server that is down."""
    server = ControlServer("dummy", DeviceService(DummySensor(noise=0.0)))
    server.start()
    directory = Directory({"dummy": server.endpoint, "ghost": NOBODY})
    use_servers(directory)
    try:
        yield directory
    finally:
        use_servers(None)
        server.stop()


def test_read_the_dummy_with_an_enum_and_a_flag(
    lab: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    with server_proxy("dummy") as dummy:
        dummy.call("set_offset", 5.0)
    with_offset = demo_tasks.read_dummy(samples=3, statistic=demo_tasks.Statistic.MAX)
    without = demo_tasks.read_dummy(samples=2, with_offset=False)
    assert 20 < with_offset - 5.0 < 21
    assert 20 < without < 21
    out = capsys.readouterr().out
    assert "reading 3:" in out
    assert "max:" in out
    with pytest.raises(ValueError, match="samples"):
        demo_tasks.read_dummy(samples=0)


def test_ping_every_server(lab: Directory, capsys: pytest.CaptureFixture[str]) -> None:
    answers = demo_tasks.ping_servers(timeout_s=0.2)
    assert set(answers) == {"dummy", "ghost"}
    assert answers["dummy"] is not None
    assert answers["ghost"] is None
    assert "ghost                DOWN" in capsys.readouterr().out


def test_record_the_dummy_to_a_file(lab: Directory, tmp_path: Path) -> None:
    path = tmp_path / "out" / "dummy.csv"
    assert demo_tasks.record_dummy(path, samples=3, interval_s=0.0) == str(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "time,value_degC"
    assert len(lines) == 4


def test_calibrate_the_dummy_as_an_observation(lab: Directory, confman: Confman) -> None:
    with observation("calibrate", confman=confman.endpoint) as running:
        value = demo_tasks.calibrate_dummy(offset=2.0)
    assert 22 < value < 23
    assert [entry.name for entry in running.journal] == ["calibrate_dummy"]
    assert confman.state.calls[0] == ("start_observation", "calibrate", "LAB_00001")


def test_the_settings_directory_falls_back_to_the_settings_endpoints(lab: Directory) -> None:
    settings = {"devices": {"dummy": {"commands": lab.endpoints["dummy"]}}}
    directory = SettingsServers(settings)
    assert directory.names() == ["dummy"]
    with directory.proxy("dummy", timeout=2.0) as dummy:
        assert dummy.call("device_info").startswith("controlroom,DUMMY")


@pytest.fixture
def tempctl() -> Iterator[Directory]:
    # Simulated time runs 200x faster so a heat-up takes a second, not minutes.
    simulator = LakeShore336Simulator(port=0, speed=200.0)
    simulator.start()
    transport = TcpTransport(simulator.host, simulator.port, **TempCtlController.transport_defaults)
    server = ControlServer("tempctl", DeviceService(TempCtlController(transport)))
    server.start()
    directory = Directory({"tempctl": server.endpoint})
    use_servers(directory)
    try:
        yield directory
    finally:
        use_servers(None)
        server.stop()
        simulator.stop()


@pytest.mark.integration
def test_thermal_tasks_drive_the_simulated_controller(
    tempctl: Directory, capsys: pytest.CaptureFixture[str]
) -> None:
    reached = demo_tasks.set_temperature(
        kelvin=100.0,
        heater_range=demo_tasks.HeaterRange.HIGH,
        tolerance_k=1.0,
        stable_s=0.2,
        timeout_s=20.0,
    )
    assert abs(reached - 100.0) <= 1.0
    steps = demo_tasks.step_setpoints(
        setpoints=[105.0, 110.0],
        heater_range=demo_tasks.HeaterRange.HIGH,
        dwell_s=0.1,
        tolerance_k=1.5,
        timeout_s=20.0,
    )
    assert abs(steps[0] - 105.0) <= 1.5
    assert abs(steps[1] - 110.0) <= 1.5
    assert "step 2/2: 110.00 K" in capsys.readouterr().out
    with pytest.raises(ValueError, match="output must be one of"):
        demo_tasks.set_temperature(output=3)
