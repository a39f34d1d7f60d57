"""Priority requests: what the processor answers from its mirror, and the parameters it lets set.

A :class:`Query` names a value of the mirror (``mode``, ``frame_counter``,
``timecode``, ``sync_sel``, ``error_flags``, ``num_cycles``, any register
field by its name, ...) or a parameter, answered from a :class:`~.mirror.Mirror`
(the loop's own, or the one it published last); an :class:`Assign` sets a parameter.
Everything is checked here, with a message naming what was wrong: the caller
gets the error on its own future, the loop goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from controlroom.devices.camera.dpu.commands import Assign, DpuError, PriorityRequest, Query
from controlroom.devices.camera.dpu.mirror import Mirror
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


def answer(state: DpuState, request: PriorityRequest) -> object:
    """The answer to ``request`` (None for an Assign); UnknownRequest if it makes no sense."""
    if isinstance(request, Query):
        return query(Mirror.of(state), request.name)
    _assign(state, request)
    return None


def query(mirror: Mirror, name: str) -> object:
    """The value ``name`` has in ``mirror`` (a register field: the active copy, what the
    FEE runs with); UnknownRequest if it names nothing the processor knows."""
    try:
        return mirror.value(name)
    except KeyError:
        raise UnknownRequest(
            f"the DPU processor knows no {name!r} (not a register, not a parameter)"
        ) from None


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
