"""The mirror as the loop last published it, so priority reads are answered off the loop's thread.

The processor's state (:class:`~.state.DpuState`) belongs to its loop's
thread. After every step that changes it, before it publishes anything, and
before it completes a request that changed it, the loop takes a
:class:`Mirror`: an immutable copy of everything a :class:`~.commands.Query`
can ask (a few values and the active register words, 2 kB). The control
endpoint answers a query from the latest one at once, whatever the loop is
doing (reading a burst of data packets, waiting for an RMAP reply, queueing
a frame), so a read waits only for the endpoint's own thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from controlroom.devices.camera.layout import Field
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import WORD

if TYPE_CHECKING:
    from controlroom.devices.camera.dpu.state import DpuState


@dataclass(frozen=True)
class Mirror:
    """What the processor knew about the FEE, and its own parameters, at one moment."""

    mode: FeeMode | None
    frame_counter: int | None
    timecode: int | None
    received_s: float | None  # UTC reception time of the last timecode
    error_flags: int
    num_cycles: int
    dump_due: bool
    synced: bool
    pending_changes: bool
    register_map: bytes  # the active copy: what the FEE runs with
    obsid: str | None
    clear_error_flags: bool
    publish_data_packets: bool
    speed: float
    registers: Mapping[str, Field]  # the register fields by name (the layout's, shared)

    @classmethod
    def of(cls, state: DpuState) -> Mirror:
        """Taken on the loop's thread (a few microseconds)."""
        registers, parameters = state.registers, state.parameters
        active = registers.snapshot()
        return cls(
            mode=state.mode,
            frame_counter=state.frame_counter,
            timecode=state.timecode,
            received_s=state.received_s,
            error_flags=state.error_flags,
            num_cycles=state.num_cycles,
            dump_due=state.dump_due,
            synced=state.synced,
            pending_changes=registers.snapshot(pending=True) != active,
            register_map=active,
            obsid=parameters.obsid,
            clear_error_flags=parameters.clear_error_flags,
            publish_data_packets=parameters.publish_data_packets,
            speed=parameters.speed,
            registers=registers.layout.fields,
        )

    def value(self, name: str) -> object:
        """A value by the name a query gives, or a register field's; KeyError if neither."""
        if name in VALUES:
            return getattr(self, name)
        field = self.registers[name]
        word = int.from_bytes(self.register_map[field.address : field.address + WORD], "big")
        return (word & field.mask) >> field.offset


VALUES = frozenset(f.name for f in fields(Mirror)) - {"registers"}
"""The names a query asks for that are no register field."""
