"""What the DPU controller's arguments may name: FEE registers and modes, a readout geometry.

The register names come from the FEE's register map (the packaged
``registers.yaml``, read once, when this module is imported: it is part of
the code, not configuration). Only configuration fields (``rw``) can be
written; housekeeping fields are read-only. Each argument is checked before
anything is queued, so a caller learns what was wrong at once, not a sync
period later.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.device.errors import ArgumentError
from controlroom.devices.camera.geometry import IMAGE_COLUMNS, ROWS
from controlroom.devices.camera.layout import Field, load_layout
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import DEFAULT_REGISTERS
from controlroom.devices.camera.storage.frames import check_obsid

_FIELDS: dict[str, Field] = dict(load_layout(DEFAULT_REGISTERS).fields)
ANY_REGISTER: tuple[str, ...] = tuple(_FIELDS)
CONFIG_REGISTERS: tuple[str, ...] = tuple(n for n, f in _FIELDS.items() if f.access == "rw")
MODES: tuple[str, ...] = tuple(mode.name for mode in FeeMode)


def check_value(name: str, value: int) -> int:
    """``value`` if register ``name`` can hold it, else an ArgumentError naming its range."""
    field = _FIELDS[name]
    if not 0 <= value <= field.maximum:
        raise ArgumentError(f"register {name!r} holds 0..{field.maximum}, not {value}")
    return value


def optional_obsid(value: object) -> str | None:
    """An obsid that can name a file, or None (outside an observation); ValueError if not."""
    return None if value is None else check_obsid(value)


@dataclass(frozen=True)
class Geometry:
    """A readout: rows ``v_start..v_end``, image columns ``0..h_end``, sides ``sensor_sel``."""

    v_start: int = 0
    v_end: int = ROWS - 1
    h_end: int = IMAGE_COLUMNS - 1
    sensor_sel: int = 3

    def __post_init__(self) -> None:
        if self.v_start > self.v_end:
            raise ArgumentError(f"v_start {self.v_start} is after v_end {self.v_end}")
        for name, low, high in (
            ("v_start", 0, ROWS - 1),
            ("v_end", 0, ROWS - 1),
            ("h_end", 0, IMAGE_COLUMNS - 1),
            ("sensor_sel", 1, 3),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ArgumentError(f"{name} is {low}..{high}, not {value}")

    def writes(self) -> list[tuple[str, int]]:
        """The register writes that select this readout, with digitisation on."""
        return [
            ("v_start", self.v_start),
            ("v_end", self.v_end),
            ("h_end", self.h_end),
            ("sensor_sel", self.sensor_sel),
            ("digitise_en", 1),
        ]
