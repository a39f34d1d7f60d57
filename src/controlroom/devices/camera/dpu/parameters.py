"""Priority requests: what the processor answers from its mirror, and the parameters it lets set.

A :class:`Query` names a value of the mirror (``mode``, ``frame_counter``,
``timecode``, ``sync_sel``, ``error_flags``, ``num_cycles``, any register
field by its name, ...) or a parameter; an :class:`Assign` sets a parameter.
Everything is checked here, with a message naming what was wrong: the caller
gets the error on its own future, the loop goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controlroom.devices.camera.dpu.commands import Assign, DpuError, PriorityRequest, Query
from controlroom.devices.camera.storage.frames import check_obsid

if TYPE_CHECKING:
    from controlroom.devices.camera.dpu.state import DpuState

MAX_NUM_CYCLES = 1_000_000


class UnknownRequest(DpuError, ValueError):
    """A priority request names nothing the processor knows, or gives a bad value."""


@dataclass
class DpuParameters:
    """The processor's own settings, changed by priority requests."""

    obsid: str | None = None  # the observation the frames belong to (None: outside one)
    clear_error_flags: bool = True  # clear the FEE's error flags in the next window when set
    # Publish every data packet (SYNC_DATA_PACKET) while somebody subscribes to them.
    publish_data_packets: bool = True
    speed: float = 1.0  # the FEE's sync cycle runs this much faster than real time


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise UnknownRequest(f"{name} is True or False, not {value!r}")
    return value


def _num_cycles(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnknownRequest(f"num_cycles is an integer, not {value!r}")
    if not -1 <= value <= MAX_NUM_CYCLES:
        raise UnknownRequest(f"num_cycles is -1..{MAX_NUM_CYCLES}, not {value}")
    return value


def _obsid(value: object) -> str | None:
    return None if value is None else check_obsid(value)


_QUERIES: dict[str, Callable[[DpuState], object]] = {
    "mode": lambda s: s.mode,
    "frame_counter": lambda s: s.frame_counter,
    "timecode": lambda s: s.timecode,
    "received_s": lambda s: s.received_s,
    "error_flags": lambda s: s.error_flags,
    "num_cycles": lambda s: s.num_cycles,
    "dump_due": lambda s: s.dump_due,
    "synced": lambda s: s.synced,
    "pending_changes": lambda s: s.registers.pending_changes,
    "register_map": lambda s: s.registers.snapshot(),
    "obsid": lambda s: s.parameters.obsid,
    "clear_error_flags": lambda s: s.parameters.clear_error_flags,
    "publish_data_packets": lambda s: s.parameters.publish_data_packets,
    "speed": lambda s: s.parameters.speed,
}


def answer(state: DpuState, request: PriorityRequest) -> object:
    """The answer to ``request`` (None for an Assign); UnknownRequest if it makes no sense."""
    if isinstance(request, Query):
        return _query(state, request.name)
    _assign(state, request)
    return None


def _query(state: DpuState, name: str) -> object:
    query = _QUERIES.get(name)
    if query is not None:
        return query(state)
    if name in state.registers.layout.fields:
        return state.registers.get(name)  # the active copy: what the FEE runs with
    raise UnknownRequest(f"the DPU processor knows no {name!r} (not a register, not a parameter)")


def _assign(state: DpuState, request: Assign) -> None:
    name, value, parameters = request.name, request.value, state.parameters
    if name == "num_cycles":
        state.num_cycles = _num_cycles(value)
        state.dump_due = False  # a new count replaces a DUMP the old one still had to send
    elif name == "obsid":
        parameters.obsid = _obsid(value)
    elif name == "clear_error_flags":
        parameters.clear_error_flags = _flag(name, value)
    elif name == "publish_data_packets":
        parameters.publish_data_packets = _flag(name, value)
    elif name == "resync":
        _flag(name, value)
        state.synced = not value  # True: read the register map from the FEE again
    else:
        raise UnknownRequest(
            f"cannot set {name!r}: settable are num_cycles, obsid, clear_error_flags, "
            "publish_data_packets, resync (commands for the FEE go on the command queue)"
        )
