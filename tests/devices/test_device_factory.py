"""Building a controller from its Settings entry: only classes the device packages define."""

from __future__ import annotations

import pytest

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
