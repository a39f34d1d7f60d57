"""Building a controller from its Settings entry: only classes the device packages define."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.devices.camera.control import DpuController
from controlroom.devices.dummy import DummySensor
from controlroom.devices.factory import DeviceConfigError, build_controller, import_object


def test_a_shipped_controller_is_built() -> None:
    entry = {"controller": "controlroom.devices.dummy:DummySensor", "options": {"seed": 1}}
    assert isinstance(build_controller(entry), DummySensor)


def test_a_private_name_is_refused() -> None:
    # `_action` exists in the driver module: the refusal is about its name, not its absence.
    with pytest.raises(DeviceConfigError, match="private"):
        import_object("controlroom.devices.ogse.driver:_action")


def test_a_class_a_device_module_imported_is_refused() -> None:
    # The dummy's module imports Interface from controlroom.device, outside the allow-list.
    with pytest.raises(DeviceConfigError, match="not defined in an allowed package"):
        build_controller({"controller": "controlroom.devices.dummy.sensor:Interface"})
    with pytest.raises(DeviceConfigError, match="not defined in an allowed package"):
        import_object("controlroom.devices.tempctl.sim.physics:np.memmap")


def test_a_module_outside_the_allowed_packages_is_refused() -> None:
    with pytest.raises(DeviceConfigError, match="'os' is not in an allowed package"):
        import_object("os:system")


DPU = "controlroom.devices.camera.control:DpuController"


def test_a_controller_that_takes_the_url_gets_it_instead_of_a_transport(tmp_path: Path) -> None:
    entry = {
        "controller": DPU,
        "transport": "tcp://192.168.1.100:7785",
        "simulator": {"host": "127.0.0.1", "port": 7785},
        "options": {"root": str(tmp_path), "speed": 20},
    }
    real = build_controller(entry)
    assert isinstance(real, DpuController) and real.url == "tcp://192.168.1.100:7785"
    assert real.options.speed == 20.0 and real.options.root == tmp_path
    simulated = build_controller(entry, simulate=True)
    assert isinstance(simulated, DpuController) and simulated.url == "tcp://127.0.0.1:7785"
    given = build_controller(entry, transport_url="tcp://127.0.0.1:4000")
    assert isinstance(given, DpuController) and given.url == "tcp://127.0.0.1:4000"
    assert not list(tmp_path.iterdir())  # built, not connected: no processor, no files yet


def test_a_controller_that_takes_the_url_without_one_is_refused() -> None:
    with pytest.raises(DeviceConfigError, match="DpuController needs a transport URL"):
        build_controller({"controller": DPU, "options": {"root": "/nowhere"}})


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("pymeasure", "subprocess:Popen"),
        ("qcodes", "os:system"),
        ("pymeasure", "qcodes.instrument_drivers.Lakeshore:LakeshoreModel336"),
    ],
)
def test_a_foreign_driver_must_come_from_its_library_or_an_allowed_package(
    key: str, path: str
) -> None:
    pytest.importorskip(key, reason=f"the [{key}] extra is not installed")
    with pytest.raises(DeviceConfigError, match="not"):
        build_controller({key: path, "transport": "tcp://127.0.0.1:9"})


def test_an_entry_names_exactly_one_driver() -> None:
    with pytest.raises(DeviceConfigError, match="names one of controller, table"):
        build_controller({"controller": "controlroom.devices.dummy:DummySensor", "table": "x"})
    with pytest.raises(DeviceConfigError, match="not \\[\\]"):
        build_controller({"transport": "tcp://127.0.0.1:9"})


def test_a_table_entry_builds_its_controller_from_the_shipped_table(tmp_path: Path) -> None:
    controller = build_controller({"table": "keithley2000", "transport": "tcp://127.0.0.1:9"})
    assert "measure_voltage" in type(controller).commands()
    with pytest.raises(DeviceConfigError, match="no command table named 'nowhere'"):
        build_controller({"table": "nowhere", "transport": "tcp://127.0.0.1:9"})
