"""Driver for the OGSE controller: lamp, laser, interlock, attenuator and two power meters.

The controller takes one command per line and answers each with one line
(see :mod:`controlroom.devices.ogse.protocol`), so every command here is a
single exchange, actions included: their ``OK`` or ``ERROR: ...`` is read
back at once and a refusal raises :class:`~controlroom.device.CommandRefused`.
The controller serves one client at a time: while the control server holds
the link, nobody else can talk to the hardware.
"""

from __future__ import annotations

from typing import Annotated, Any

from controlroom.device import Controller, command, in_range
from controlroom.devices.ogse.attenuator import MAX_LEVEL, WHEEL_POSITIONS
from controlroom.devices.ogse.replies import (
    Interlock,
    check_reply,
    expect_ok,
    fault,
    link,
    no_value,
    on_off,
    parse_att_level,
    parse_flags,
    parse_interlock,
    parse_meters,
    parse_pm_status,
    parse_status,
)

LevelIndex = Annotated[int, in_range(0, MAX_LEVEL)]
Factor = Annotated[float, in_range(0.0, 1.0)]
WheelPosition = Annotated[int, in_range(1, WHEEL_POSITIONS)]


def _action(cmd: str) -> dict[str, Any]:
    return {"kind": "transaction", "cmd": cmd, "check": expect_ok, "parse": no_value}


class OGSEController(Controller):
    """The OGSE controller: a laser-driven lamp, a two-wheel attenuator, two power meters."""

    transport_defaults = {"read_terminator": "\n", "write_terminator": "\n", "timeout": 3.0}
    # status takes a power-meter measurement (~0.1 s); housekeeping adds the flags.
    hk_min_period_s = 0.25
    status_min_period_s = 0.15

    @command("query", "status", check=check_reply, parse=parse_status)
    def read_status(self) -> dict[str, Any]:
        """Power, psu, operate, laser, lamp, interlock, attenuator and both power meters."""

    @command("query", "get interlock", check=check_reply, parse=parse_interlock)
    def get_interlock(self) -> Interlock:
        """The safety interlock: OPEN (laser and lamp cannot run) or CLOSE."""

    @command("query", "get power", check=check_reply, parse=on_off("power"))
    def get_power(self) -> bool:
        """True when the controller's power is on."""

    @command("query", "get lamp", check=check_reply, parse=on_off("lamp"))
    def get_lamp(self) -> bool:
        """True while the lamp burns."""

    @command("query", "get laser", check=check_reply, parse=on_off("laser"))
    def get_laser(self) -> bool:
        """True while the laser that drives the lamp is on."""

    @command("query", "get lamp-fault", check=check_reply, parse=fault("lamp-fault"))
    def get_lamp_fault(self) -> bool:
        """True when the lamp failed (did not ignite or went out); cleared by reset."""

    @command("query", "get controller-fault", check=check_reply, parse=fault("controller-fault"))
    def get_controller_fault(self) -> bool:
        """True when the controller reports a fault; cleared by reset."""

    @command("query", "get psu", check=check_reply, parse=on_off("psu"))
    def get_psu(self) -> bool:
        """True when the laser power supply is on (power on and interlock closed)."""

    @command("query", "get operate", check=check_reply, parse=on_off("operate"))
    def get_operate(self) -> bool:
        """True in operate mode (laser on)."""

    @command("query", "get flags", check=check_reply, parse=parse_flags)
    def get_flags(self) -> dict[str, Any]:
        """All states in one number (``value``) and by name (power, lamp, faults...)."""

    @command("query", "read", check=check_reply, parse=parse_meters)
    def get_power_and_temperature(self) -> dict[str, float]:
        """Power (W) and head temperature (°C) of both power meters; NaN when unplugged."""

    @command("query", "ldls status", check=check_reply, parse=link("ldls"))
    def ldls_status(self) -> bool:
        """True when the controller's connection to the LDLS (the lamp) is OK."""

    @command("query", "pm status", check=check_reply, parse=parse_pm_status)
    def pm_status(self) -> dict[str, bool]:
        """Connection state of each power meter (``pm1``, ``pm2``): True when OK."""

    @command("query", "level", check=check_reply, parse=parse_att_level)
    def att_get_level(self) -> dict[str, Any]:
        """The attenuator: ``att_moving`` (bool), ``att_factor`` (float), ``att_index`` (int)."""

    @command("query", "att status", check=check_reply, parse=link("att"))
    def att_status(self) -> bool:
        """True when the controller's connection to the attenuator is OK."""

    @command(**_action("level #${index}"))
    def att_set_level_index(self, index: LevelIndex) -> None:
        """Set the attenuator to level ``index`` (0: no attenuation ... 46: the most)."""

    @command(
        kind="transaction",
        prepare=lambda factor: f"level {factor:.3e}",
        check=expect_ok,
        parse=no_value,
    )
    def att_set_level_factor(self, factor: Factor) -> None:
        """Set the attenuator to the level whose transmission is closest to ``factor``."""

    @command(**_action("level ${wheel1} ${wheel2}"))
    def att_set_level_position(self, wheel1: WheelPosition, wheel2: WheelPosition) -> None:
        """Turn the two filter wheels to the given positions (1 to 8 each)."""

    @command(**_action("level up"))
    def att_level_up(self) -> None:
        """One step more attenuation; nothing if already at the most."""

    @command(**_action("level down"))
    def att_level_down(self) -> None:
        """One step less attenuation; nothing if already at the least."""

    @command("query", "version", check=check_reply)
    def version(self) -> str:
        """Version of the controller's software."""

    @command(**_action("power on"))
    def power_on(self) -> None:
        """Switch the controller's power (and so the laser power supply) on."""

    @command(**_action("power off"), interrupts=True)
    def power_off(self) -> None:
        """Switch the power off; the laser and the lamp go out. Runs at once, whatever else runs."""

    @command(**_action("operate on"))
    def operate_on(self) -> None:
        """Switch the laser on; the lamp ignites soon after. Needs power, interlock closed."""

    @command(**_action("operate off"), interrupts=True)
    def operate_off(self) -> None:
        """Switch the laser off; the lamp goes out. Runs at once, whatever else runs."""

    @command(**_action("reset"))
    def reset(self) -> None:
        """Back to the power-up state (power off) and clear the faults; the attenuator stays."""

    def status(self) -> dict[str, Any]:
        # One exchange: what a display of the optical bench needs.
        values: dict[str, Any] = self.read_status()
        return values

    def housekeeping(self) -> dict[str, Any]:
        values = self.status()
        flags = self.get_flags()
        values |= {
            "lamp_fault": flags["lamp_fault"],
            "controller_fault": flags["controller_fault"],
            "flags": flags["value"],
        }
        return values
