"""The DPU processor's mirror of the FEE, and its own parameters.

The processor never asks the FEE what state it is in: it follows it. Every
housekeeping packet replays, on a :class:`RegisterMap` mirror, what the FEE
did at that pulse (:func:`start_pulse`: the pending map loaded on the long
pulse, ``clear_error_flag`` acting on the next pulse) and then takes the
housekeeping values the FEE sent. Writes the processor sends land in the
mirror's pending copy when the FEE accepted them. So the mirror holds the
register map the FEE loaded on the last long pulse, and what the FEE will
read out on this pulse follows from it (:attr:`DpuState.plan`).

``num_cycles`` follows :func:`count_cycle`: counted down on every long pulse,
except that a running count (> 0) waits for a long pulse that loads an image
mode; the long pulse that brings it to 0 asks for DUMP, which the processor
sends in that pulse's command window; a negative value means no count is
running. So N > 0 and FULL_IMAGE commanded before the same long pulse give
N cycles of four frames (one per pulse, the CCDs in ``ccd_readout_order``),
then DUMP, wherever in the cycle N was set.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.device.spacewire import HousekeepingPacket
from controlroom.devices.camera.cycle import PULSES_PER_CYCLE, SyncTiming, count_cycle
from controlroom.devices.camera.dpu.commands import Command, DpuError, SetRegister
from controlroom.devices.camera.dpu.parameters import DpuParameters
from controlroom.devices.camera.errors import RegisterAccessError, TimingError
from controlroom.devices.camera.layout import Area
from controlroom.devices.camera.modes import FeeMode, mode_from_code
from controlroom.devices.camera.registers import WORD, RegisterMap
from controlroom.devices.camera.sequencer import PulsePlan, start_pulse

_FRAME_COUNTER_WRAP = 1 << 16
IMAGE_MODES = frozenset({FeeMode.FULL_IMAGE, FeeMode.FULL_IMAGE_PATTERN})
_MAX_MISSED_PULSES = 64  # beyond: the FEE restarted or the link was away too long to follow


class MirrorOutOfStep(DpuError):
    """The FEE runs in another mode than the mirror expects: the register map is re-read."""


@dataclass(frozen=True)
class Housekeeping:
    """The values of one housekeeping packet (or of the HK area read back)."""

    values: dict[str, int]

    @property
    def frame_counter(self) -> int:
        return self.values["frame_counter"]

    @property
    def error_flags(self) -> int:
        return self.values["error_flags"]


class DpuState:
    """The mirror and the bookkeeping, touched only by the processor's loop thread."""

    def __init__(self, registers: RegisterMap | None = None, *, speed: float = 1.0) -> None:
        self.registers: RegisterMap = registers if registers is not None else RegisterMap.load()
        self.parameters: DpuParameters = DpuParameters(speed=speed)
        self.timecode: int | None = None
        self.received_s: float | None = None  # UTC reception time of the last timecode
        self.frame_counter: int | None = None
        self.mode: FeeMode | None = None  # as the FEE reports it in its housekeeping
        self.error_flags: int = 0
        self.num_cycles: int = 0
        self.dump_due: bool = False  # num_cycles ran out: DUMP goes out in the next window
        self.synced: bool = False  # the mirror's configuration was read from the FEE
        self.plan: PulsePlan | None = None
        self.last_housekeeping: Housekeeping | None = None  # of the last HK packet

    @property
    def housekeeping_area(self) -> Area:
        return self._area("ro")

    @property
    def config_area(self) -> Area:
        return self._area("rw")

    @property
    def timing(self) -> SyncTiming:
        """The sync timing the mirror's (active) register map selects.

        An internal period too short for a command window is the FEE's error
        to flag; the processor then places its window as for external sync
        rather than stop reading.
        """
        try:
            return SyncTiming.from_registers(self.registers, speed=self.parameters.speed)
        except TimingError:
            return SyncTiming(speed=self.parameters.speed)

    def on_timecode(self, timecode: int, received_s: float) -> None:
        self.timecode, self.received_s = timecode, received_s

    def decode_housekeeping(self, data: bytes | memoryview) -> Housekeeping:
        """The housekeeping fields in an HK packet's payload (the HK area from its start)."""
        area = self.housekeeping_area
        values: dict[str, int] = {}
        for field in self.registers.layout.fields.values():
            if field.access != "ro":
                continue
            at = field.address - area.start
            if at + WORD > len(data):
                raise DpuError(f"a housekeeping packet of {len(data)} bytes has no {field.name!r}")
            word = int.from_bytes(data[at : at + WORD], "big")
            values[field.name] = (word & field.mask) >> field.offset
        return Housekeeping(values)

    def on_housekeeping(self, packet: HousekeepingPacket) -> PulsePlan:
        """Follow the FEE through this pulse; the plan says what it reads out."""
        hk = self.decode_housekeeping(packet.data)
        self.last_housekeeping = hk
        self._catch_up(hk.frame_counter)
        pulse = SyncTiming().pulse(hk.frame_counter)  # only its number counts here
        plan = start_pulse(self.registers, pulse)
        if pulse.position == 0:
            self._count_cycle(plan.mode)
        self._take_housekeeping(hk)
        self.frame_counter, self.plan = hk.frame_counter, plan
        if self.mode is not None and self.mode != plan.mode:
            self.synced = False
            raise MirrorOutOfStep(
                f"frame {hk.frame_counter}: the FEE runs {self.mode.name}, the mirror expected "
                f"{plan.mode.name}; its register map is read again"
            )
        return plan

    def on_hk_readback(self, data: bytes) -> Housekeeping:
        """The HK area read back after the readout: newer error flags."""
        hk = self.decode_housekeeping(data)
        self._take_housekeeping(hk)
        return hk

    def on_config_read(self, data: bytes) -> None:
        """The configuration area as read from the FEE: both mirror copies take it."""
        area = self.config_area
        if len(data) != area.size:
            raise DpuError(f"read {len(data)} bytes of configuration, the area has {area.size}")
        snapshot = bytearray(self.registers.snapshot())
        snapshot[area.start : area.end] = data
        self.registers.restore(bytes(snapshot))
        self.synced = True

    def check_command(self, command: Command) -> None:
        """Refuse a command the mirror cannot turn into a register write."""
        if isinstance(command, SetRegister):
            field = self.registers.field(command.name)
            if field.access != "rw":
                raise RegisterAccessError(f"register {command.name!r} is read-only housekeeping")
            if not isinstance(command.value, int) or not 0 <= command.value <= field.maximum:
                raise RegisterAccessError(
                    f"register {command.name!r}: {command.value!r} is not in 0..{field.maximum}"
                )
        elif command.address % WORD or not 0 <= command.word < 1 << 32:
            raise RegisterAccessError(
                f"a word write needs an aligned address and a 32-bit word: {command}"
            )

    def command_word(self, command: Command) -> tuple[int, int]:
        """(address, word) to send: a field is merged into the mirror's pending word."""
        self.check_command(command)
        if not isinstance(command, SetRegister):
            return command.address, command.word
        field = self.registers.field(command.name)
        word = self.registers.word(field.address, pending=True)
        return field.address, (word & ~field.mask) | (command.value << field.offset)

    def on_write_accepted(self, address: int, word: int) -> None:
        """The FEE accepted a write: it waits in the pending copy, as in the FEE."""
        self.registers.write_word(address, word.to_bytes(WORD, "big"))

    def _take_housekeeping(self, hk: Housekeeping) -> None:
        for name, value in hk.values.items():
            self.registers.set_hk(name, value)
        self.error_flags = hk.error_flags
        self.mode = mode_from_code(hk.values["op_mode"])

    def _catch_up(self, frame_counter: int) -> None:
        """Pulses the processor missed (no timecode, a lost HK packet) still happened."""
        if self.frame_counter is None:
            return
        missed = (frame_counter - self.frame_counter - 1) % _FRAME_COUNTER_WRAP
        if missed > _MAX_MISSED_PULSES:  # a restarted FEE, not a few lost pulses
            self.synced = False
            return
        last = self.frame_counter  # the wrap is a multiple of 4: counting on past it is fine
        long_pulses = (last + missed) // PULSES_PER_CYCLE - last // PULSES_PER_CYCLE
        if not long_pulses:
            return
        self.registers.apply()
        mode = mode_from_code(self.registers.get("ccd_mode_config"))
        for _ in range(min(long_pulses, max(self.num_cycles, 0) + 1)):
            self._count_cycle(mode)

    def _count_cycle(self, mode: FeeMode | None) -> None:
        if self.num_cycles > 0 and mode not in IMAGE_MODES:
            return  # the images have not started yet
        self.num_cycles, go_to_dump = count_cycle(self.num_cycles)
        self.dump_due = self.dump_due or go_to_dump

    def _area(self, access: str) -> Area:
        return next(a for a in self.registers.layout.areas.values() if a.access == access)
