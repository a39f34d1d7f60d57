"""Output commands of the simulated supply: settings, output, measurements, protections.

Each acts on the channel selected with ``INST:NSEL n`` (or ``INST OUTn``). Set
values are answered as the supply shows them (volts to the millivolt, amperes
to 0.1 mA); measurements carry a little noise.
"""

from __future__ import annotations

from controlroom.devices.psu.channel import DEFAULT_AMPS
from controlroom.devices.psu.ratings import MAX_OCP_DELAY_S
from controlroom.devices.psu.scpi import (
    Command,
    ScpiError,
    expect,
    format_bool,
    to_bool,
    to_number,
)
from controlroom.devices.psu.sim_state import PsuState


def _volts(value: float) -> str:
    return f"{value:.3f}"


def _amps(value: float) -> str:
    return f"{value:.4f}"


def _limit_query(args: list[str], value: float, low: float, high: float) -> float:
    """``VOLT?`` gives the setting; ``VOLT? MIN`` / ``VOLT? MAX`` the range."""
    if not args:
        return value
    keyword = expect(args, 1)[0].upper()
    if keyword not in ("MIN", "MINIMUM", "MAX", "MAXIMUM"):
        raise ScpiError(-224, args[0])
    return to_number(keyword, low, high)


def _set_volts(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    ch.volts_set = to_number(expect(args, 1)[0], 0.0, ch.rating.max_volts, default=0.0)


def _get_volts(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return _volts(_limit_query(args, ch.volts_set, 0.0, ch.rating.max_volts))


def _set_amps(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    ch.amps_set = to_number(expect(args, 1)[0], 0.0, ch.rating.max_amps, default=DEFAULT_AMPS)


def _get_amps(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return _amps(_limit_query(args, ch.amps_set, 0.0, ch.rating.max_amps))


def _apply(state: PsuState, args: list[str]) -> None:
    if not 1 <= len(args) <= 2:
        raise ScpiError(-109 if not args else -108)
    ch = state.channel
    volts = to_number(args[0], 0.0, ch.rating.max_volts, default=0.0)
    amps = to_number(args[1], 0.0, ch.rating.max_amps) if len(args) == 2 else ch.amps_set
    ch.volts_set, ch.amps_set = volts, amps  # both or neither


def _applied(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"{_volts(state.channel.volts_set)},{_amps(state.channel.amps_set)}"


def _switch_output(state: PsuState, args: list[str]) -> None:
    on = to_bool(expect(args, 1)[0])
    ch = state.channel
    if on and ch.tripped:
        which = "OVP" if ch.ovp_tripped else "OCP"
        raise ScpiError(-221, f"{which} tripped on channel {state.selected}, clear it first")
    ch.switch(on)


def _output(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.on)


def _output_mode(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return state.channel.mode


def _measure_volts(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return _volts(state.channel.measure_volts(state.rng))


def _measure_amps(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return _amps(state.channel.measure_amps(state.rng))


def _measure_watts(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    ch = state.channel
    return f"{ch.measure_volts(state.rng) * ch.measure_amps(state.rng):.3f}"


def _set_ovp(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    top = ch.rating.max_ovp_volts
    ch.ovp_volts = to_number(expect(args, 1)[0], 0.0, top, default=top)


def _get_ovp(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return _volts(_limit_query(args, ch.ovp_volts, 0.0, ch.rating.max_ovp_volts))


def _ovp_tripped(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.ovp_tripped)


def _clear_ovp(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.channel.ovp_tripped = False  # the output stays off: switching on is deliberate


def _arm_ocp(state: PsuState, args: list[str]) -> None:
    state.channel.ocp_armed = to_bool(expect(args, 1)[0])


def _ocp_armed(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.ocp_armed)


def _ocp_tripped(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_bool(state.channel.ocp_tripped)


def _clear_ocp(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.channel.ocp_tripped = False


def _set_ocp_delay(state: PsuState, args: list[str]) -> None:
    state.channel.ocp_delay_s = to_number(expect(args, 1)[0], 0.0, MAX_OCP_DELAY_S, default=0.0)


def _get_ocp_delay(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.channel.ocp_delay_s:.3f}"


_SRC = "[SOURce:]"
OUTPUT_COMMANDS: list[Command[PsuState]] = [
    Command(_SRC + "VOLTage[:LEVel][:IMMediate][:AMPLitude]", _set_volts),
    Command(_SRC + "VOLTage[:LEVel][:IMMediate][:AMPLitude]?", _get_volts, "query"),
    Command(_SRC + "CURRent[:LEVel][:IMMediate][:AMPLitude]", _set_amps),
    Command(_SRC + "CURRent[:LEVel][:IMMediate][:AMPLitude]?", _get_amps, "query"),
    Command("APPLy", _apply),
    Command("APPLy?", _applied, "query"),
    Command("OUTPut[:STATe]", _switch_output),
    Command("OUTPut[:STATe]?", _output, "query"),
    Command("OUTPut:MODE?", _output_mode, "query"),
    Command("MEASure[:SCALar]:VOLTage[:DC]?", _measure_volts, "measure"),
    Command("MEASure[:SCALar]:CURRent[:DC]?", _measure_amps, "measure"),
    Command("MEASure[:SCALar]:POWer?", _measure_watts, "measure"),
    Command(_SRC + "VOLTage:PROTection[:LEVel]", _set_ovp),
    Command(_SRC + "VOLTage:PROTection[:LEVel]?", _get_ovp, "query"),
    Command(_SRC + "VOLTage:PROTection:TRIPped?", _ovp_tripped, "query"),
    Command(_SRC + "VOLTage:PROTection:CLEar", _clear_ovp),
    Command(_SRC + "CURRent:PROTection[:STATe]", _arm_ocp),
    Command(_SRC + "CURRent:PROTection[:STATe]?", _ocp_armed, "query"),
    Command(_SRC + "CURRent:PROTection:TRIPped?", _ocp_tripped, "query"),
    Command(_SRC + "CURRent:PROTection:CLEar", _clear_ocp),
    Command(_SRC + "CURRent:PROTection:DELay", _set_ocp_delay),
    Command(_SRC + "CURRent:PROTection:DELay?", _get_ocp_delay, "query"),
]
