"""The simulated DAQ6510's command set: one handler per SCPI header (pure, no I/O).

The handlers live with their subsystem: :mod:`.system` (common commands,
``SYSTem``, ``STATus``), :mod:`.sense` (channel settings), :mod:`.route` (the
scan, ``INIT``, ``ABORt``, ``TRIGger``) and :mod:`.trace` (reading buffers and
the queries that return readings). Commands that wait for a scan (``*OPC?``,
``*WAI``) block the instrument through :meth:`DaqState.wait`, as the real one
holds every later command while it scans.
"""

from __future__ import annotations

from controlroom.device.simkit.scpi import CommandTable
from controlroom.devices.daq.sim.route import ROUTE_COMMANDS
from controlroom.devices.daq.sim.sense import SENSE_COMMANDS
from controlroom.devices.daq.sim.state import DaqState
from controlroom.devices.daq.sim.system import SYSTEM_COMMANDS
from controlroom.devices.daq.sim.trace import TRACE_COMMANDS

COMMANDS: CommandTable[DaqState] = CommandTable(
    [*SYSTEM_COMMANDS, *SENSE_COMMANDS, *ROUTE_COMMANDS, *TRACE_COMMANDS]
)
"""Every command the simulator understands; any other header is error -113."""
