"""The SCPI command table of the simulated supply: common commands, channel selection, outputs.

Output commands act on the channel selected with ``INST:NSEL n`` (or ``INST
OUTn``). Set values are answered as the supply shows them (volts to the
millivolt, amperes to 0.1 mA); measurements carry a little noise.
"""

from __future__ import annotations

import re

from controlroom.device.simkit.common import (
    clear_status,
    constant,
    event_status,
    identify,
    next_error,
    reset,
)
from controlroom.device.simkit.params import expect, format_bool, to_bool, to_number
from controlroom.device.simkit.scpi import ESR_OPC, Command, CommandTable, ScpiError
from controlroom.devices.psu.ratings import CHANNELS, MAX_OCP_DELAY_S
from controlroom.devices.psu.sim.channel import DEFAULT_AMPS
from controlroom.devices.psu.sim.state import PsuState

_OUTPUT_NAME = re.compile(r"(?:OUT|OUTP|OUTPUT|CH)([0-9]+)")


def _select(state: PsuState, number: float) -> None:
    if not number.is_integer() or int(number) not in CHANNELS:
        raise ScpiError(-224, f"no channel {number:g}")
    state.selected = int(number)


def _select_number(state: PsuState, args: list[str]) -> None:
    _select(state, to_number(expect(args, 1)[0], CHANNELS[0], CHANNELS[-1]))


def _selected_number(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return str(state.selected)


def _select_name(state: PsuState, args: list[str]) -> None:
    match = _OUTPUT_NAME.fullmatch(expect(args, 1)[0].upper())
    if match is None:
        raise ScpiError(-224, f"{args[0]} is not OUT1 to OUT{CHANNELS[-1]}")
    _select(state, float(match.group(1)))


def _selected_name(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"OUT{state.selected}"


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
    ch.volts_set = to_number(expect(args, 1)[0], 0.0, ch.rating.max_volts, default=0.0, unit="V")


def _get_volts(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return _volts(_limit_query(args, ch.volts_set, 0.0, ch.rating.max_volts))


def _set_amps(state: PsuState, args: list[str]) -> None:
    ch = state.channel
    ch.amps_set = to_number(
        expect(args, 1)[0], 0.0, ch.rating.max_amps, default=DEFAULT_AMPS, unit="A"
    )


def _get_amps(state: PsuState, args: list[str]) -> str:
    ch = state.channel
    return _amps(_limit_query(args, ch.amps_set, 0.0, ch.rating.max_amps))


def _apply(state: PsuState, args: list[str]) -> None:
    if not 1 <= len(args) <= 2:
        raise ScpiError(-109 if not args else -108)
    ch = state.channel
    volts = to_number(args[0], 0.0, ch.rating.max_volts, default=0.0, unit="V")
    amps = to_number(args[1], 0.0, ch.rating.max_amps, unit="A") if len(args) == 2 else ch.amps_set
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
    ch.ovp_volts = to_number(expect(args, 1)[0], 0.0, top, default=top, unit="V")


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
    state.channel.ocp_delay_s = to_number(
        expect(args, 1)[0], 0.0, MAX_OCP_DELAY_S, default=0.0, unit="S"
    )


def _get_ocp_delay(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.channel.ocp_delay_s:.3f}"


_SRC = "[SOURce:]"
COMMANDS: CommandTable[PsuState] = CommandTable(
    [
        Command("*IDN?", identify, "query"),
        Command("*RST", reset),
        Command("*CLS", clear_status),
        Command("*ESR?", event_status, "query"),
        Command("*OPC", constant(None, event=ESR_OPC)),  # every command completes before the next
        Command("*OPC?", constant("1"), "query"),
        Command("*TST?", constant("0"), "query"),  # self-test passed
        Command("*WAI", constant(None)),
        Command("SYSTem:ERRor[:NEXT]?", next_error, "query"),
        Command("SYSTem:VERSion?", constant("1999.0"), "query"),
        Command("INSTrument:NSELect", _select_number),
        Command("INSTrument:NSELect?", _selected_number, "query"),
        Command("INSTrument[:SELect]", _select_name),
        Command("INSTrument[:SELect]?", _selected_name, "query"),
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
)
"""Every header the simulator understands; anything else is error -113, undefined header."""
