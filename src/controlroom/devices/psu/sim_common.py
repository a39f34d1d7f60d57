"""IEEE 488.2 common commands, the error queue and channel selection of the simulated supply."""

from __future__ import annotations

import re

from controlroom.devices.psu.ratings import CHANNELS
from controlroom.devices.psu.scpi import (
    Command,
    Handler,
    ScpiError,
    expect,
    format_error,
    to_number,
)
from controlroom.devices.psu.sim_state import ESR_OPC, PsuState

_OUTPUT_NAME = re.compile(r"(?:OUT|OUTP|OUTPUT|CH)([0-9]+)")


def _identify(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return state.identity


def _reset(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.reset()


def _clear(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.clear()


def _event_status(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    value, state.esr = state.esr, 0
    return str(value)


def _operation_complete(state: PsuState, args: list[str]) -> None:
    expect(args, 0)
    state.esr |= ESR_OPC  # every command completes before the next is read


def _constant(reply: str | None) -> Handler[PsuState]:
    def answer(state: PsuState, args: list[str]) -> str | None:
        expect(args, 0)
        return reply

    return answer


def _next_error(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return format_error(state.errors.pop())


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


COMMON_COMMANDS: list[Command[PsuState]] = [
    Command("*IDN?", _identify, "query"),
    Command("*RST", _reset),
    Command("*CLS", _clear),
    Command("*ESR?", _event_status, "query"),
    Command("*OPC", _operation_complete),
    Command("*OPC?", _constant("1"), "query"),
    Command("*TST?", _constant("0"), "query"),  # self-test passed
    Command("*WAI", _constant(None)),
    Command("SYSTem:ERRor[:NEXT]?", _next_error, "query"),
    Command("SYSTem:VERSion?", _constant("1999.0"), "query"),
    Command("INSTrument:NSELect", _select_number),
    Command("INSTrument:NSELect?", _selected_number, "query"),
    Command("INSTrument[:SELect]", _select_name),
    Command("INSTrument[:SELect]?", _selected_name, "query"),
]
