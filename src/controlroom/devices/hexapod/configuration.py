"""The hexapod's configuration commands: coordinate systems, speeds, workspace limits.

A "set config" command writes its values into ``Q80``-``Q91`` and its code
into ``Q20``; a "get config" command writes its code, and the controller
leaves the values in ``Q80`` on. Both wait for the return code in ``Q20``.
The "set config" commands are declared from a table of their arguments
(:func:`_setting`): the controller takes each as a row of values in one
order, and the coordinates come in sixes, as the Symétrie API takes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from controlroom.device import ArgumentError, command, in_range
from controlroom.device.command import Command
from controlroom.device.synthesized import Argument, signed
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
)

Translation = Annotated[float, in_range(-1000.0, 1000.0)]  # mm
Rotation = Annotated[float, in_range(-180.0, 180.0)]  # degrees
TranslationSpeed = Annotated[float, in_range(0.0001, 100.0)]  # mm/s; the controller knows its own
RotationSpeed = Annotated[float, in_range(0.0001, 100.0)]  # deg/s

CS_NAMES = tuple(f"{a}_{frame}" for frame in "uo" for a in ("tx", "ty", "tz", "rx", "ry", "rz"))
LIMIT_NAMES = tuple(f"{axis}_{end}" for end in ("min", "max") for axis in codes.AXES)
_SPEED_HINT = "a speed outside the controller's range (see get_speed)"
_MACHINE_HINT = "machine limits must lie within the factory workspace"


def coordinates(names: Iterable[str]) -> tuple[Argument, ...]:
    """One argument per name: a rotation in degrees for ``rx``, ``ry_u``, ``rz_max``...,
    a translation in mm for any other (``x``, ``tx_u``, ``z_min``)."""
    return tuple(Argument(n, Rotation if n.startswith("r") else Translation) for n in names)


def _setting(
    code: Code,
    arguments: Sequence[Argument],
    doc: str,
    hint: str = "",
    before: Callable[..., None] | None = None,
) -> Command:
    """A "set config" command whose ``arguments`` go to ``Q80`` on, in order; ``hint``: why
    else than a state the controller may ignore it. Its name is the attribute it is given
    to on the class."""
    names = [argument.name for argument in arguments]

    def prepare(**values: Any) -> str:
        return command_line(code, assignments(codes.Q_PARAMS, [float(values[n]) for n in names]))

    def sent_not_run(owner: Any, **values: Any) -> None:
        raise AssertionError("a setting is sent, not run")

    declared = command(
        "transaction",
        prepare=prepare,
        check=check_ack,
        parse=nothing,
        before=before,
        after=after_command(code.name, ("initialized", "in_motion"), hint),
    )
    return declared(signed(code.name.lower(), sent_not_run, arguments, None, doc))


def _workspace(
    set_code: Code, get_code: Code, docs: tuple[str, str], hint: str = ""
) -> tuple[Command, Command]:
    """The commands that set and get one workspace's limits: twelve bounds, the six lower
    first (checked to lie below the upper ones), read back as ``{axis: [lower, upper]}``."""

    def get(self: Any) -> dict[str, list[float]]:
        return _limits(self.config(get_code, 12))

    get.__doc__ = docs[1]
    setter = _setting(set_code, coordinates(LIMIT_NAMES), docs[0], hint, before=_ordered)
    return setter, command(access="read")(get)


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

    def config(self, code: int, count: int) -> list[float]:
        """Run a "get" command and read the ``count`` values it leaves (the controller
        class makes it one handshake no stop comes between)."""
        raise NotImplementedError

    configure_coordinate_systems = _setting(
        Code.SET_CS,
        coordinates(CS_NAMES),
        """Define the user frame in the machine frame (``*_u``) and the object frame in the
        platform frame (``*_o``): mm and degrees. Refused while the hexapod moves.""",
    )

    @command(access="read")
    def get_coordinate_systems(self) -> dict[str, dict[str, float]]:
        """The user frame in the machine frame and the object frame in the platform frame."""
        values = self.config(Code.GET_CS, 12)
        return {"user": pose_dict(values[:6]), "object": pose_dict(values[6:])}

    set_speed = _setting(
        Code.SET_SPEED,
        (Argument("translation", TranslationSpeed), Argument("rotation", RotationSpeed)),
        """Set the speed of the moves: ``translation`` in mm/s, ``rotation`` in deg/s
        (the controller refuses speeds outside its own range; see :meth:`get_speed`).""",
        _SPEED_HINT,
    )

    @command(access="read")
    def get_speed(self) -> dict[str, float]:
        """The speeds of the moves and the range the controller accepts (mm/s, deg/s)."""
        values = self.config(Code.GET_SPEED, 6)
        names = ("translation", "rotation", "translation_min", "rotation_min")
        return dict(zip((*names, "translation_max", "rotation_max"), values, strict=True))

    set_machine_limits, get_machine_limits = _workspace(
        Code.SET_MACHINE_LIMITS,
        Code.GET_MACHINE_LIMITS,
        (
            "Bound the platform's pose in the machine frame (within the factory workspace).",
            "The machine workspace: ``{axis: [lower, upper]}`` of the platform, machine frame.",
        ),
        _MACHINE_HINT,
    )
    set_user_limits, get_user_limits = _workspace(
        Code.SET_USER_LIMITS,
        Code.GET_USER_LIMITS,
        (
            "Bound the object's pose in the user frame (the driver checks moves against it).",
            "The user workspace: ``{axis: [lower, upper]}`` of the object, user frame.",
        ),
    )

    set_limits_enabled = _setting(
        Code.SET_LIMITS_ENABLED,
        (Argument("machine", bool), Argument("user", bool)),
        "Whether the machine and the user workspace limits bound the moves.",
    )

    @command(access="read")
    def get_limits_enabled(self) -> dict[str, bool]:
        """``{"machine": ..., "user": ...}``: which workspace limits bound the moves."""
        machine, user = self.config(Code.GET_LIMITS_ENABLED, 2)
        return {"machine": machine != 0, "user": user != 0}
