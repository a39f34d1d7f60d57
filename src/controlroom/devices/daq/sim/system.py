"""Common commands, ``SYSTem`` and ``STATus`` of the simulated DAQ6510.

``*OPC?`` and ``*WAI`` keep the instrument busy until a running scan has
ended, as the real one holds every later command; the instrument still
answers ``TRIG:STAT?`` or ``TRAC:ACT?`` at once when they come first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from controlroom.device.simkit.common import (
    error_count,
    event_status,
    identify,
    mask_query,
    mask_setter,
    next_error,
    status_byte,
)
from controlroom.device.simkit.params import expect
from controlroom.device.simkit.scpi import ESR_OPC, Command, ScpiError
from controlroom.devices.daq.sim.params import mnemonic, whole
from controlroom.devices.daq.sim.state import DaqState

RESET_S = 0.1
RECALL_S = 0.05
SAVE_SLOTS = (0, 4)
CARD = "7700,20Ch Mux w/CJC,{serial},01.00"
"""What ``SYST:CARD<n>:IDN?`` answers for the 20-channel multiplexer in each slot."""
CARDS = (1, 2)


def _reset(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.reset()
    state.pause(RESET_S)


def _clear_status(state: DaqState, args: list[str]) -> None:
    """``*CLS``: the error queue and every event register, the operation register's too."""
    expect(args, 0)
    state.status.clear()
    state.operation.event = 0


def _operation_complete(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    state.wait_for_scan()
    return "1"


def _set_complete(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.wait_for_scan()
    state.status.esr |= ESR_OPC


def _wait(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.wait_for_scan()


def _save(state: DaqState, args: list[str]) -> None:
    state.save(whole(expect(args, 1)[0], *SAVE_SLOTS))


def _recall(state: DaqState, args: list[str]) -> None:
    state.recall(whole(expect(args, 1)[0], *SAVE_SLOTS))
    state.pause(RECALL_S)


def _language(_state: DaqState, args: list[str]) -> None:
    mnemonic(expect(args, 1)[0], {"SCPI": "SCPI"})  # TSP and SCPI2000 are not simulated


def _show_language(_state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return "SCPI"


def _clear_errors(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    if state.status.errors is not None:
        state.status.errors.clear()


def _line_frequency(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return f"{state.line_hz:g}"


def _card(state: DaqState, args: list[str]) -> str:
    slot = args[0] if args else "1"  # SCPI: a header without a suffix means suffix 1
    expect(args[1:], 0)
    if int(slot) not in CARDS:
        raise ScpiError(-221, f"slot {slot} holds no card")
    return CARD.format(serial=f"{state.identity.split(',')[2]}-{slot}")


def _set_time(state: DaqState, args: list[str]) -> None:
    year, month, day, hour, minute, second = (whole(arg, 0, 9999) for arg in expect(args, 6))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ScpiError(-222, str(exc)) from None
    state.epoch = moment.timestamp() - state.now


def _time(state: DaqState, args: list[str]) -> str:
    if len(args) > 1:
        raise ScpiError(-108)
    return state.clock().strftime("%a %b %d %H:%M:%S %Y")


def _operation_condition(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(state.operation.condition)


def _operation_event(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(state.operation.read_event())


def _operation_map(state: DaqState, args: list[str]) -> None:
    if len(args) not in (2, 3):
        raise ScpiError(-109 if len(args) < 2 else -108)
    bit, set_event, *clear = (whole(arg, 0, 65535) for arg in args)
    state.operation.map(bit, set_event, clear[0] if clear else 0)


def _show_operation_map(state: DaqState, args: list[str]) -> str:
    bit = whole(expect(args, 1)[0], 0, 14)
    set_event, clear_event = state.operation.maps.get(bit, (0, 0))
    return f"{set_event},{clear_event}"


def _operation_enable(state: DaqState, args: list[str]) -> None:
    state.operation.enable = whole(expect(args, 1)[0], 0, 65535)


def _show_operation_enable(state: DaqState, args: list[str]) -> str:
    expect(args, 0)
    return str(state.operation.enable)


def _preset(state: DaqState, args: list[str]) -> None:
    expect(args, 0)
    state.operation.preset()


def _ignore(_state: DaqState, _args: list[str]) -> None:
    """A display setting: accepted, and nothing to show it on."""


SYSTEM_COMMANDS: list[Command[DaqState]] = [
    Command("*IDN?", identify),
    Command("*RST", _reset),
    Command("*CLS", _clear_status),
    Command("*OPC?", _operation_complete),
    Command("*OPC", _set_complete),
    Command("*WAI", _wait),
    Command("*SAV", _save),
    Command("*RCL", _recall),
    Command("*ESR?", event_status),
    Command("*ESE", mask_setter("ese")),
    Command("*ESE?", mask_query("ese")),
    Command("*SRE", mask_setter("sre")),
    Command("*SRE?", mask_query("sre")),
    Command("*STB?", status_byte),
    Command("*LANG", _language),
    Command("*LANG?", _show_language),
    Command("SYSTem:ERRor[:NEXT]?", next_error),
    Command("SYSTem:ERRor:COUNt?", error_count),
    Command("SYSTem:ERRor:CLEar", _clear_errors),
    Command("SYSTem:CLEar", _clear_errors),
    Command("SYSTem:LFRequency?", _line_frequency),
    Command("SYSTem:CARD:IDN?", _card),
    Command("SYSTem:TIME", _set_time),
    Command("SYSTem:TIME?", _time),
    Command("STATus:OPERation:CONDition?", _operation_condition),
    Command("STATus:OPERation[:EVENt]?", _operation_event),
    Command("STATus:OPERation:MAP", _operation_map),
    Command("STATus:OPERation:MAP?", _show_operation_map),
    Command("STATus:OPERation:ENABle", _operation_enable),
    Command("STATus:OPERation:ENABle?", _show_operation_enable),
    Command("STATus:PRESet", _preset),
    Command("DISPlay", _ignore),
]
