"""The SCPI command table of the simulated HMP4040, in the headers of its manual.

Channel commands act on the channel selected with ``INST:NSEL n`` or ``INST
OUTn``; the handlers live by domain in :mod:`.source` (settings) and
:mod:`.outputs` (switching, measuring, fuse, status). The status condition
of each channel is addressed by a header suffix (``ISUMmary3``), which the
table resolves: the header without it finds the command, the suffix picks
the channel (1 when left out).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from controlroom.device.simkit.common import (
    clear_status,
    constant,
    event_status,
    identify,
    mask_query,
    mask_setter,
    next_error,
    reset,
    status_byte,
)
from controlroom.device.simkit.params import expect, to_number
from controlroom.device.simkit.scpi import (
    ESR_OPC,
    Command,
    CommandTable,
    Handler,
    ScpiError,
    setting_and_query,
)
from controlroom.devices.psu.ratings import CHANNELS
from controlroom.devices.psu.sim import outputs, source
from controlroom.devices.psu.sim.state import PsuState

_OUTPUT_NAME = re.compile(r"(?:OUT|OUTP|OUTPUT)([0-9]+)")
_SUFFIX = re.compile(r"(?<=[A-Za-z])([0-9]+)(?=:|\?|$)")


class SuffixedTable(CommandTable[PsuState]):
    """A command table in which some headers take a channel suffix."""

    def __init__(
        self,
        commands: Iterable[Command[PsuState]],
        per_channel: Mapping[str, Callable[[int], Handler[PsuState]]],
    ) -> None:
        self._per_channel = dict(per_channel)
        plain = [Command(p, make(CHANNELS[0]), "query") for p, make in per_channel.items()]
        super().__init__([*commands, *plain])

    def find(self, header: str) -> Command[PsuState]:
        suffixes = _SUFFIX.findall(header)
        if not suffixes:
            return super().find(header)
        base = super().find(_SUFFIX.sub("", header))
        make = self._per_channel.get(base.pattern)
        if make is None or len(suffixes) > 1 or int(suffixes[0]) not in CHANNELS:
            raise ScpiError(-113, header.lstrip(":"))
        return Command(base.pattern, make(int(suffixes[0])), base.cost)


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
        raise ScpiError(-224, f"{args[0]} is not OUTP1 to OUTP{CHANNELS[-1]}")
    _select(state, float(match.group(1)))


def _selected_name(state: PsuState, args: list[str]) -> str:
    expect(args, 0)
    return f"OUTP{state.selected}"


def _control(mode: str) -> Handler[PsuState]:
    """``SYST:REM`` and its siblings: who may change the settings (recorded, not enforced)."""

    def switch(state: PsuState, args: list[str]) -> None:
        expect(args, 0)
        state.control = mode

    return switch


_SRC = "[SOURce:]"
_VOLT = _SRC + "VOLTage[:LEVel][:IMMediate][:AMPLitude]"
_CURR = _SRC + "CURRent[:LEVel][:IMMediate][:AMPLitude]"
_STEP = ":STEP[:INCRement]"
_CONTROL = {"LOC": "SYSTem:LOCal", "REM": "SYSTem:REMote", "MIX": "SYSTem:MIX"}
_CONTROL |= {"RWL": "SYSTem:RWLock"}

COMMANDS = SuffixedTable(
    [
        Command("*IDN?", identify, "query"),
        Command("*RST", reset),
        Command("*CLS", clear_status),
        Command("*ESR?", event_status, "query"),
        Command("*ESE", mask_setter("ese")),
        Command("*ESE?", mask_query("ese"), "query"),
        Command("*SRE", mask_setter("sre")),
        Command("*SRE?", mask_query("sre"), "query"),
        Command("*STB?", status_byte, "query"),
        Command("*OPC", constant(None, event=ESR_OPC)),  # every command completes before the next
        Command("*OPC?", constant("1"), "query"),
        Command("*TST?", constant("0"), "query"),  # self-test passed
        Command("*WAI", constant(None)),
        Command("SYSTem:ERRor[:NEXT]?", next_error, "query"),
        Command("SYSTem:VERSion?", constant("1999.0"), "query"),
        Command("SYSTem:BEEPer[:IMMediate]", constant(None)),
        *(Command(header, _control(mode)) for mode, header in _CONTROL.items()),
        *setting_and_query("INSTrument:NSELect", _select_number, _selected_number),
        *setting_and_query("INSTrument[:SELect]", _select_name, _selected_name),
        *setting_and_query(_VOLT, source.set_volts, source.get_volts),
        *setting_and_query(_VOLT + _STEP, source.set_volts_step, source.get_volts_step),
        *setting_and_query(_CURR, source.set_amps, source.get_amps),
        *setting_and_query(_CURR + _STEP, source.set_amps_step, source.get_amps_step),
        *setting_and_query("APPLy", source.apply, source.applied),
        *setting_and_query(_SRC + "VOLTage:PROTection[:LEVel]", source.set_ovp, source.get_ovp),
        Command(_SRC + "VOLTage:PROTection:TRIPped?", source.ovp_tripped, "query"),
        Command(_SRC + "VOLTage:PROTection:CLEar", source.clear_ovp),
        *setting_and_query("OUTPut:SELect", outputs.select_output, outputs.output_selected),
        *setting_and_query("OUTPut:GENeral[:STATe]", outputs.switch_general, outputs.general),
        *setting_and_query("OUTPut[:STATe]", outputs.switch_output, outputs.output),
        Command("MEASure[:SCALar]:VOLTage[:DC]?", outputs.measure_volts, "measure"),
        Command("MEASure[:SCALar]:CURRent[:DC]?", outputs.measure_amps, "measure"),
        *setting_and_query("FUSE[:STATe]", outputs.arm_fuse, outputs.fuse_armed),
        *setting_and_query("FUSE:DELay", outputs.set_fuse_delay, outputs.get_fuse_delay),
        *setting_and_query("FUSE:LINK", outputs.link_fuse, outputs.fuse_linked),
        Command("FUSE:UNLink", outputs.unlink_fuse),
        Command("FUSE:TRIPped?", outputs.fuse_tripped, "query"),
        Command("FUSE:TRIPed?", outputs.fuse_tripped, "query"),  # the manual's own spelling
    ],
    {"STATus:QUEStionable:INSTrument:ISUMmary:CONDition?": outputs.condition},
)
"""Every header the simulator understands; anything else is error -113, undefined header."""
