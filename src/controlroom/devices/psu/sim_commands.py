"""The whole SCPI command table of the simulated supply, and running a line against it."""

from __future__ import annotations

import logging

from controlroom.devices.psu.scpi import CommandTable, ScpiError, split_unit, split_units
from controlroom.devices.psu.sim_common import COMMON_COMMANDS
from controlroom.devices.psu.sim_outputs import OUTPUT_COMMANDS
from controlroom.devices.psu.sim_state import PsuState

_LOG = logging.getLogger(__name__)

PSU_COMMANDS: CommandTable[PsuState] = CommandTable([*COMMON_COMMANDS, *OUTPUT_COMMANDS])
"""Every header the simulator understands; anything else is error -113, undefined header."""


def execute(line: str, state: PsuState) -> tuple[str | None, list[str]]:
    """Run every message unit of ``line``: the joined replies and the cost of each unit."""
    replies: list[str] = []
    costs: list[str] = []
    for unit in split_units(line):
        try:
            header, args = split_unit(unit)
            command = PSU_COMMANDS.find(header)
            costs.append(command.cost)
            reply = command.handler(state, args)
            state.regulate()
        except ScpiError as exc:
            state.record(exc)
            _LOG.info("error %s in %r", exc, unit)
            continue
        if reply is not None:
            replies.append(reply)
    return (";".join(replies) if replies else None), costs
