"""The hexapod's configuration commands: coordinate systems, speeds, workspace limits.

A "set config" command writes its values into ``Q80``-``Q91`` and its code
into ``Q20``; a "get config" command writes its code, and the controller
leaves the values in ``Q80`` on. Both wait for the return code in ``Q20``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from controlroom.device import ArgumentError, command, in_range
from controlroom.device.transports.base import Transport
from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.codes import Code
from controlroom.devices.hexapod.protocol import (
    after_command,
    assignments,
    check_ack,
    command_line,
    nothing,
    pose_dict,
    read_config,
)

Translation = Annotated[float, in_range(-1000.0, 1000.0)]  # mm
Rotation = Annotated[float, in_range(-180.0, 180.0)]  # degrees
TranslationSpeed = Annotated[float, in_range(0.0001, 100.0)]  # mm/s; the controller knows its own
RotationSpeed = Annotated[float, in_range(0.0001, 100.0)]  # deg/s

CS_NAMES = tuple(f"{a}_{frame}" for frame in "uo" for a in ("tx", "ty", "tz", "rx", "ry", "rz"))
LIMIT_NAMES = tuple(f"{axis}_{end}" for end in ("min", "max") for axis in codes.AXES)
_SPEED_HINT = "a speed outside the controller's range (see get_speed)"
_MACHINE_HINT = "machine limits must lie within the factory workspace"


def _setting(code: Code, names: Sequence[str], hint: str = "") -> dict[str, Any]:
    """A "set config" command whose arguments ``names`` go to ``Q80`` on, in order;
    ``hint``: why else than a state the controller may ignore it."""

    def prepare(**arguments: Any) -> str:
        values = [float(arguments[name]) for name in names]
        return command_line(code, assignments(codes.Q_PARAMS, values))

    return {
        "kind": "transaction",
        "prepare": prepare,
        "check": check_ack,
        "parse": nothing,
        "after": after_command(code.name, ("initialized", "in_motion"), hint),
    }


def _ordered(controller: Any, **limits: float) -> None:
    """``before=``: each lower limit must lie below its upper one; nothing is sent otherwise."""
    for axis in codes.AXES:
        low, high = limits[f"{axis}_min"], limits[f"{axis}_max"]
        if low >= high:
            raise ArgumentError(f"{axis}: the lower limit {low:g} is not below the upper {high:g}")


def _limits(values: Sequence[float]) -> dict[str, list[float]]:
    return {axis: [values[n], values[n + 6]] for n, axis in enumerate(codes.AXES)}


class Configuration:
    """The configuration commands of :class:`~controlroom.devices.hexapod.HexapodController`."""

    transport: Transport

    @command(**_setting(Code.SET_CS, CS_NAMES))
    def configure_coordinate_systems(  # noqa: PLR0917 - the Symétrie API's twelve values
        self,
        tx_u: Translation,
        ty_u: Translation,
        tz_u: Translation,
        rx_u: Rotation,
        ry_u: Rotation,
        rz_u: Rotation,
        tx_o: Translation,
        ty_o: Translation,
        tz_o: Translation,
        rx_o: Rotation,
        ry_o: Rotation,
        rz_o: Rotation,
    ) -> None:
        """Define the user frame in the machine frame (``*_u``) and the object frame in the
        platform frame (``*_o``): mm and degrees. Refused while the hexapod moves."""

    @command(access="read")
    def get_coordinate_systems(self) -> dict[str, dict[str, float]]:
        """The user frame in the machine frame and the object frame in the platform frame."""
        values = read_config(self.transport, Code.GET_CS, 12)
        return {"user": pose_dict(values[:6]), "object": pose_dict(values[6:])}

    @command(**_setting(Code.SET_SPEED, ("translation", "rotation"), _SPEED_HINT))
    def set_speed(self, translation: TranslationSpeed, rotation: RotationSpeed) -> None:
        """Set the speed of the moves: ``translation`` in mm/s, ``rotation`` in deg/s
        (the controller refuses speeds outside its own range; see :meth:`get_speed`)."""

    @command(access="read")
    def get_speed(self) -> dict[str, float]:
        """The speeds of the moves and the range the controller accepts (mm/s, deg/s)."""
        values = read_config(self.transport, Code.GET_SPEED, 6)
        names = ("translation", "rotation", "translation_min", "rotation_min")
        return dict(zip((*names, "translation_max", "rotation_max"), values, strict=True))

    @command(**_setting(Code.SET_MACHINE_LIMITS, LIMIT_NAMES, _MACHINE_HINT), before=_ordered)
    def set_machine_limits(  # noqa: PLR0917 - twelve bounds, in the controller's order
        self,
        x_min: Translation,
        y_min: Translation,
        z_min: Translation,
        rx_min: Rotation,
        ry_min: Rotation,
        rz_min: Rotation,
        x_max: Translation,
        y_max: Translation,
        z_max: Translation,
        rx_max: Rotation,
        ry_max: Rotation,
        rz_max: Rotation,
    ) -> None:
        """Bound the platform's pose in the machine frame (within the factory workspace)."""

    @command(access="read")
    def get_machine_limits(self) -> dict[str, list[float]]:
        """The machine workspace: ``{axis: [lower, upper]}`` of the platform, machine frame."""
        return _limits(read_config(self.transport, Code.GET_MACHINE_LIMITS, 12))

    @command(**_setting(Code.SET_USER_LIMITS, LIMIT_NAMES), before=_ordered)
    def set_user_limits(  # noqa: PLR0917 - twelve bounds, in the controller's order
        self,
        x_min: Translation,
        y_min: Translation,
        z_min: Translation,
        rx_min: Rotation,
        ry_min: Rotation,
        rz_min: Rotation,
        x_max: Translation,
        y_max: Translation,
        z_max: Translation,
        rx_max: Rotation,
        ry_max: Rotation,
        rz_max: Rotation,
    ) -> None:
        """Bound the object's pose in the user frame (the driver checks moves against it)."""

    @command(access="read")
    def get_user_limits(self) -> dict[str, list[float]]:
        """The user workspace: ``{axis: [lower, upper]}`` of the object, user frame."""
        return _limits(read_config(self.transport, Code.GET_USER_LIMITS, 12))

    @command(**_setting(Code.SET_LIMITS_ENABLED, ("machine", "user")))
    def set_limits_enabled(self, machine: bool, user: bool) -> None:
        """Whether the machine and the user workspace limits bound the moves."""

    @command(access="read")
    def get_limits_enabled(self) -> dict[str, bool]:
        """``{"machine": ..., "user": ...}``: which workspace limits bound the moves."""
        machine, user = read_config(self.transport, Code.GET_LIMITS_ENABLED, 2)
        return {"machine": machine != 0, "user": user != 0}
