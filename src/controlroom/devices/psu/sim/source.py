"""SCPI handlers for the settings of the selected channel: voltage, current, steps, APPLy, OVP.

Values are kept at the supply's programming resolution (1 mV; 0.2 mA below
1 A and 1 mA above) and answered as its display shows them. ``VOLT UP`` and
``VOLT DOWN`` move the setting by ``VOLT:STEP`` (likewise for the current); a
step that would leave the range is refused and changes nothing.
"""

from __future__ import annotations

from controlroom.device.simkit.params import expect, format_bool, to_number
from controlroom.device.simkit.scpi import ScpiError
from controlroom.devices.psu.sim.channel import (
    DEFAULT_AMPS,
    DEFAULT_AMPS_STEP,
    DEFAULT_VOLTS_STEP,
    Channel,
)
from controlroom.devices.psu.sim.state import PsuState

_LIMITS = ("MIN", "MINIMUM", "MAX", "MAXIMUM")
_STEPS = {"UP": 1, "DOWN": -1}


def format_volts(value: float) -> str:
    return f"{value:.3f}"


def format_amps(value: float) -> str:
    return f"{value:.4f}"


def _volts_resolution(value: float) -> float:
    return round(value, 3)


def _amps_resolution(value: float) -> float:
    step = 0.0002 if value < 1.0 else 0.001
    return round(round(value / step) * step, 4)


def _limit_query(args: list[str], value: float, low: float, high: float) -> float:
    """``VOLT?`` gives the setting; ``VOLT? MIN`` / ``VOLT? MAX`` the range."""
    if not args:
        return value
    keyword = expect(args, 1)[0].upper()
    if keyword not in _LIMITS:
        raise ScpiError(-224, args[0])
    return to_number(keyword, low, high)


def _stepped(text: str, value: float, step: float, high: float) -> float | None:
    """The setting after ``UP`` or ``DOWN``; None if ``text`` is neither."""
    direction = _STEPS.get(text.strip().upper())
    if direction is None:
        return None
    moved = value + direction * step
    if not -1e-9 <= moved <= high + 1e-9:
        raise ScpiError(-222, f"a step to {moved:g} is outside 0 to {high:g}")
    return min(max(moved, 0.0), high)


def _new_volts(ch: Channel, text: str) -> float:
    top = ch.rating.max_volts
    stepped = _stepped(text, ch.volts_set, ch.volts_step, top)
    if stepped is None:
        stepped = to_number(text, 0.0, top, unit="V")
    return _volts_resolution(stepped)


def _new_amps(ch: Channel, text: str) -> float:
    top = ch.rating.max_amps
    stepped = _stepped(text, ch.amps_set, ch.amps_step, top)
    if stepped is None:
        stepped = to_number(text, 0.0, top, default=DEFAULT_AMPS, unit="A")
    return _amps_resolution(stepped)


def set_volts(state: PsuState, args: list[str]) -> None:
    state.channel.volts_set = _new_volts(state.channel, expect(args, 1)[0])


def get_volts(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return format_volts(_limit_query(args, ch.volts_set, 0.0, ch.rating.max_volts))


def set_amps(state: PsuState, args: list[str]) -> None:
    state.channel.amps_set = _new_amps(state.channel, expect(args, 1)[0])


def get_amps(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return format_amps(_limit_query(args, ch.amps_set, 0.0, ch.rating.max_amps))


def _step_value(args: list[str], top: float, default: float, unit: str) -> float:
    return to_number(expect(args, 1)[0], 0.0, top, default=default, unit=unit)


def _step_query(args: list[str], value: float, default: float) -> float:
    """``VOLT:STEP?`` gives the step, ``VOLT:STEP? DEF`` the power-up step."""
    if not args:
        return value
    if expect(args, 1)[0].upper() not in ("DEF", "DEFAULT"):
        raise ScpiError(-224, args[0])
    return default


def set_volts_step(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    step = _step_value(args, ch.rating.max_volts, DEFAULT_VOLTS_STEP, "V")
    ch.volts_step = _volts_resolution(step)


def get_volts_step(state: PsuState, args: list[str]) -> str:
    return format_volts(_step_query(args, state.channel.volts_step, DEFAULT_VOLTS_STEP))


def set_amps_step(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    ch.amps_step = _amps_resolution(_step_value(args, ch.rating.max_amps, DEFAULT_AMPS_STEP, "A"))


def get_amps_step(state: PsuState, args: list[str]) -> str:
    return format_amps(_step_query(args, state.channel.amps_step, DEFAULT_AMPS_STEP))


def apply(state: PsuState, args: list[str]) -> None:
    """``APPL <volts>,<amps>``: both or neither."""
    volts_text, amps_text = expect(args, 2)
    ch = state.channel
    volts, amps = _new_volts(ch, volts_text), _new_amps(ch, amps_text)
    ch.volts_set, ch.amps_set = volts, amps


def applied(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"{format_volts(state.channel.volts_set)},{format_amps(state.channel.amps_set)}"


def set_ovp(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    top = ch.rating.max_ovp_volts
    ch.ovp_volts = _volts_resolution(to_number(expect(args, 1)[0], 0.0, top, default=top, unit="V"))


def get_ovp(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return format_volts(_limit_query(args, ch.ovp_volts, 0.0, ch.rating.max_ovp_volts))


def ovp_tripped(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.ovp_tripped)


def clear_ovp(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.channel.ovp_tripped = False  # the output stays off: switching on is deliberate
