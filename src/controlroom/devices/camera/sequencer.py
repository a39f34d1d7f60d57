"""What the FEE does on a sync pulse and on an RMAP write, as changes to its register map.

No I/O and no clock: the simulator calls :func:`start_pulse` when its pulse
is due and sends what the returned :class:`PulsePlan` says; it passes every
RMAP write through :func:`command_write` with the time it arrived. Faults
the real FEE reports in its housekeeping (a write outside the command
window, an unknown mode, an impossible readout) set an error flag here
instead of raising, because the FEE keeps running and the DPU reads them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controlroom.devices.camera.cycle import Pulse, PulseKind, SyncTiming, readout_ccd
from controlroom.devices.camera.errors import ReadoutError, RegisterAccessError
from controlroom.devices.camera.geometry import Readout
from controlroom.devices.camera.modes import (
    ErrorFlag,
    FeeMode,
    PulseContent,
    mode_from_code,
    pulse_content,
)
from controlroom.devices.camera.registers import RegisterMap


class WriteOutcome(enum.Enum):
    """What became of an RMAP write (the simulator turns it into the reply status)."""

    ACCEPTED = "accepted"
    OUTSIDE_WINDOW = "outside the command window"
    READ_ONLY = "read-only address"
    INVALID_ADDRESS = "invalid address or length"


@dataclass(frozen=True)
class PulsePlan:
    """What the FEE sends on one pulse after its timecode."""

    pulse: Pulse
    mode: FeeMode
    content: PulseContent
    ccd: int
    readout: Readout | None  # None: HK only

    @property
    def frame_counter(self) -> int:
        return self.pulse.number & 0xFFFF


def raise_error_flag(registers: RegisterMap, flag: ErrorFlag) -> None:
    """Set a flag in the housekeeping error flags (kept until cleared)."""
    registers.set_hk("error_flags", registers.get("error_flags") | int(flag))


def error_flags(registers: RegisterMap) -> ErrorFlag:
    return ErrorFlag(registers.get("error_flags"))


def command_write(
    registers: RegisterMap, timing: SyncTiming, t: float, address: int, data: bytes
) -> WriteOutcome:
    """An RMAP write arriving at ``t``: stored (pending) only inside the command window."""
    if not timing.window_open(t):
        raise_error_flag(registers, ErrorFlag.COMMAND_OUTSIDE_WINDOW)
        return WriteOutcome.OUTSIDE_WINDOW
    area = registers.layout.area_at(address)
    if area is not None and area.access == "ro":
        raise_error_flag(registers, ErrorFlag.WRITE_TO_READ_ONLY)
        return WriteOutcome.READ_ONLY
    try:
        registers.write_word(address, data)
    except RegisterAccessError:
        return WriteOutcome.INVALID_ADDRESS
    return WriteOutcome.ACCEPTED


def start_pulse(registers: RegisterMap, pulse: Pulse) -> PulsePlan:
    """The FEE's bookkeeping at a sync pulse, and what it will send on it."""
    if registers.get("clear_error_flag", pending=True):
        # A command bit rather than configuration: it acts on the next pulse of
        # any kind and clears itself, so it never reaches the active copy.
        registers.set("clear_error_flag", 0)
        registers.set_hk("error_flags", 0)
    if pulse.kind is PulseKind.LONG:
        registers.apply()
    mode = _running_mode(registers)
    content = pulse_content(mode, registers.get("digitise_en"))
    readout = _readout(registers) if content.sends_data else None
    if readout is None:
        content = PulseContent(housekeeping=True, pixels=None)
    registers.set_hk("frame_counter", pulse.number & 0xFFFF)
    registers.set_hk("frame_number", pulse.position)
    registers.set_hk("timecode", pulse.timecode)
    registers.set_hk("op_mode", int(mode))
    ccd = readout_ccd(registers.get("ccd_readout_order"), pulse.position)
    return PulsePlan(pulse, mode, content, ccd, readout)


def _running_mode(registers: RegisterMap) -> FeeMode:
    """The loaded mode; an unknown code keeps the mode the FEE was in and is flagged."""
    mode = mode_from_code(registers.get("ccd_mode_config"))
    if mode is None:
        raise_error_flag(registers, ErrorFlag.INVALID_MODE)
        return FeeMode(registers.get("op_mode"))
    return mode


def _readout(registers: RegisterMap) -> Readout | None:
    try:
        return Readout.from_registers(registers)
    except ReadoutError:
        raise_error_flag(registers, ErrorFlag.INVALID_READOUT)
        return None
