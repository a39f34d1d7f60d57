"""The OGSE controller's command set, as the simulator answers it (pure, no I/O).

Fixed commands are looked up in a table; the attenuator commands with an
argument (``level #12``, ``level 0.01``, ``level 3 5``) are matched by
regular expressions. Commands are case-insensitive and runs of blanks count
as one. Every command gets exactly one reply line; an unknown one gets
``ERROR: unknown command string: <line>`` and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from controlroom.devices.ogse.protocol import (
    ERROR_PREFIX,
    FAULT,
    INTERLOCK_OPEN,
    LINK_OK,
    OK,
    SWITCH,
    format_flags,
    format_level,
    format_power,
    format_temperature,
)
from controlroom.devices.ogse.sim.state import OGSEState, SimRefused

VERSION = "OGSE controller v2.1 (controlroom simulator)"

Handler = Callable[[OGSEState], str]
ArgHandler = Callable[[OGSEState, tuple[str, ...]], str]


def _action(run: Callable[[OGSEState], None]) -> Handler:
    def act(state: OGSEState) -> str:
        run(state)
        return OK

    return act


def _level(state: OGSEState) -> str:
    return format_level(*state.level())


def _read(state: OGSEState) -> str:
    parts = []
    for meter in (1, 2):
        reading = state.reading(meter)
        power, temperature = (
            format_power(reading.power_w),
            format_temperature(reading.temperature_c),
        )
        parts.append(f"pm{meter}: {power} {temperature}")
    return ", ".join(parts)


def _status(state: OGSEState) -> str:
    pm1, pm2 = state.reading(1), state.reading(2)
    fields = [
        ("power", SWITCH.say(state.power)),
        ("psu", SWITCH.say(state.psu)),
        ("operate", SWITCH.say(state.operate)),
        ("laser", SWITCH.say(state.laser)),
        ("lamp", SWITCH.say(state.lit)),
        ("interlock", INTERLOCK_OPEN.say(state.interlock_open)),
        ("att", _level(state)),
        ("power-ch1", format_power(pm1.power_w)),
        ("power-ch2", format_power(pm2.power_w)),
        ("temp-ch1", format_temperature(pm1.temperature_c)),
        ("temp-ch2", format_temperature(pm2.temperature_c)),
    ]
    return ", ".join(f"{name}: {value}" for name, value in fields)


FIXED_COMMANDS: dict[str, Handler] = {
    "status": _status,
    "get interlock": lambda s: f"interlock: {INTERLOCK_OPEN.say(s.interlock_open)}",
    "get power": lambda s: f"power: {SWITCH.say(s.power)}",
    "get lamp": lambda s: f"lamp: {SWITCH.say(s.lit)}",
    "get laser": lambda s: f"laser: {SWITCH.say(s.laser)}",
    "get lamp-fault": lambda s: f"lamp-fault: {FAULT.say(s.lamp_fault)}",
    "get controller-fault": lambda s: f"controller-fault: {FAULT.say(s.controller_fault)}",
    "get psu": lambda s: f"psu: {SWITCH.say(s.psu)}",
    "get operate": lambda s: f"operate: {SWITCH.say(s.operate)}",
    "get flags": lambda s: format_flags(s.flags()),
    "read": _read,
    "ldls status": lambda s: f"ldls: {LINK_OK.say(s.ldls_connected)}",
    "pm status": lambda s: ", ".join(
        f"pm{n}: {LINK_OK.say(ok)}" for n, ok in enumerate(s.meters_connected, start=1)
    ),
    "att status": lambda s: f"att: {LINK_OK.say(s.attenuator_connected)}",
    "level": lambda s: f"att-level: {_level(s)}",
    "level up": _action(lambda s: s.step_level(+1)),
    "level down": _action(lambda s: s.step_level(-1)),
    "version": lambda s: VERSION,
    "power on": _action(OGSEState.power_on),
    "power off": _action(OGSEState.power_off),
    "operate on": _action(OGSEState.operate_on),
    "operate off": _action(OGSEState.operate_off),
    "reset": _action(OGSEState.reset),
}
"""Every command without an argument, by its normalised text."""

SESSION_END = frozenset({"exit", "quit"})
"""Commands that end the client's session: no reply, the controller hangs up."""

SLOW_COMMANDS = frozenset({"status", "read"})
"""Commands that wait for a fresh power-meter measurement."""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SimRefused(f"not a number: {text!r}") from None


def _integer(text: str) -> int:
    value = _number(text)
    if not value.is_integer():
        raise SimRefused(f"not an integer: {text!r}")
    return int(value)


def _set_index(state: OGSEState, args: tuple[str, ...]) -> str:
    state.set_level_index(_integer(args[0]))
    return OK


def _set_positions(state: OGSEState, args: tuple[str, ...]) -> str:
    state.set_level_positions((_integer(args[0]), _integer(args[1])))
    return OK


def _set_factor(state: OGSEState, args: tuple[str, ...]) -> str:
    state.set_level_factor(_number(args[0]))
    return OK


ARG_COMMANDS: tuple[tuple[re.Pattern[str], ArgHandler], ...] = (
    (re.compile(r"level #(\S+)"), _set_index),
    (re.compile(r"level (\S+) (\S+)"), _set_positions),
    (re.compile(r"level ([-+.\deE]+)"), _set_factor),
)
"""Attenuator commands with arguments, tried in order."""


def normalise(line: str) -> str:
    return " ".join(line.split()).lower()


def execute(state: OGSEState, line: str) -> str:
    """Run one command line on ``state`` and return the reply line."""
    command = normalise(line)
    handler = FIXED_COMMANDS.get(command)
    try:
        if handler is not None:
            return handler(state)
        for pattern, arg_handler in ARG_COMMANDS:
            match = pattern.fullmatch(command)
            if match is not None:
                return arg_handler(state, match.groups())
    except SimRefused as exc:
        return f"{ERROR_PREFIX}: {exc}"
    return f"{ERROR_PREFIX}: unknown command string: {line.strip()}"
