"""The FEE simulator's RMAP side: the DPU reads and writes the register map.

Reads are answered at any time, from the memory as RMAP writes left it (the
pending configuration, which the FEE loads on the next long pulse) and the
housekeeping area (the same in both copies). Writes go through
:func:`~controlroom.devices.camera.sequencer.command_write`: outside the
command window, to the housekeeping area or to no register they are refused
with "not authorised" and, like the real FEE, an HK error flag is raised.

Whatever the DPU sends that is no usable command (a reply, a FEE packet, a
timecode, a command with a wrong key or address, a corrupt packet) is
counted and never stops the simulator. A burst of them is logged twice: its
first one with the reason, and its size when a good command comes again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from controlroom.device.spacewire import (
    PACKET,
    CorruptPacket,
    MemoryTarget,
    PacketData,
    RmapReadRequest,
    RmapWriteRequest,
    Status,
    classify,
)
from controlroom.devices.camera.modes import ErrorFlag
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import WriteOutcome, raise_error_flag

_LOG = logging.getLogger(__name__)

FEE_LOGICAL_ADDRESS = 0x51
FEE_KEY = 0xD1

# write_outcome(address, data): what the FEE does with a write arriving now.
WriteRule = Callable[[int, bytes], WriteOutcome]


@dataclass
class CommandCounters:
    reads: int = 0  # read commands answered with data
    writes: int = 0  # writes stored in the pending configuration
    refused: int = 0  # commands answered with an error status
    not_commands: int = 0  # packets from the DPU that are no RMAP command
    corrupt: int = 0  # packets the link dropped as corrupt (also raise LINK_ERROR)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class BurstLog:
    """Logs a run of the same trouble twice: its first occurrence and, once over, its length."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self.length = 0

    def bad(self, reason: str) -> None:
        if self.length == 0:
            self._log.warning(
                "%s (%s); more until it stops are counted, not logged", self._what, reason
            )
        self.length += 1

    def good(self) -> None:
        if self.length > 1:
            self._log.warning("%s: %d in a row, now over", self._what, self.length)
        self.length = 0


class CommandPort:
    """Answers the DPU's RMAP commands from ``registers``; ``write_outcome`` rules on writes."""

    def __init__(self, registers: RegisterMap, write_outcome: WriteRule) -> None:
        self.registers = registers
        self.counters = CommandCounters()
        self._write_outcome = write_outcome
        self._memory = bytearray(registers.snapshot(pending=True))
        self._target = MemoryTarget(
            self._memory,
            logical_address=FEE_LOGICAL_ADDRESS,
            key=FEE_KEY,
            write_hook=self._write,
        )
        self._refusal = ""
        self._burst = BurstLog(_LOG, "bad request from the DPU")

    def handle(self, flags: int, data: PacketData) -> bytes | None:
        """The encoded reply to what the DPU sent, or None (no command, or no reply asked)."""
        try:
            request = classify(data) if flags == PACKET else None
        except CorruptPacket as error:  # the link checks packets; this is a second line
            self.corrupt(1, error.reason)
            return None
        if not isinstance(request, RmapReadRequest | RmapWriteRequest):
            self.counters.not_commands += 1
            what = "a timecode" if request is None else f"a {type(request).__name__}"
            self._burst.bad(f"{what} is no RMAP command")
            return None
        # The target reads a bytearray: bring it up to date with the map first.
        self._memory[:] = self.registers.snapshot(pending=True)
        self._refusal = ""
        errors = self._target.counters.errors
        reply = self._target.answer(request)
        if self._target.counters.errors > errors:  # also a refused write that asked no reply
            self.counters.refused += 1
            reason = self._refusal or (Status(reply.status).name if reply else "refused")
            self._burst.bad(f"{type(request).__name__} at {request.address:#06x}: {reason}")
        else:
            self._burst.good()
            if isinstance(request, RmapReadRequest):
                self.counters.reads += 1
        return None if reply is None else reply.encode()

    def corrupt(self, count: int, reason: str = "dropped by the link") -> None:
        """``count`` corrupt packets arrived: counted, and the FEE reports a link error."""
        self.counters.corrupt += count
        raise_error_flag(self.registers, ErrorFlag.LINK_ERROR)
        self._burst.bad(f"{count} corrupt packet(s): {reason}")

    def _write(self, address: int, data: bytes) -> bool:
        outcome = self._write_outcome(address, data)
        if outcome is WriteOutcome.ACCEPTED:
            self.counters.writes += 1
            return True
        self._refusal = outcome.value
        return False
