"""The FEE memory map: named fields over big-endian 32-bit words, pending and active.

The FEE keeps two copies of its configuration. RMAP writes (``write_word``)
and :meth:`RegisterMap.set` change the *pending* copy; the FEE loads it into
the *active* copy on the long sync pulse (:meth:`RegisterMap.apply`), so a
readout never sees a half-written configuration. The housekeeping area is
written by the FEE itself (:meth:`RegisterMap.set_hk`), in both copies at
once, and is read-only to RMAP. The same class serves as the DPU's mirror of
the FEE: it applies the writes it sends on the same long pulses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from controlroom.devices.camera.errors import RegisterAccessError
from controlroom.devices.camera.layout import Area, Field, Layout, load_layout

DEFAULT_REGISTERS = Path(__file__).with_name("registers.yaml")
WORD = 4


def encode_word(value: int) -> bytes:
    """A 32-bit register word as it travels in RMAP: big-endian."""
    return value.to_bytes(WORD, "big")


def decode_word(data: bytes) -> int:
    if len(data) != WORD:
        raise RegisterAccessError(f"a register word is {WORD} bytes, got {len(data)}")
    return int.from_bytes(data, "big")


class RegisterMap:
    """The FEE register memory, initialised to every field's default."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._active = np.zeros(layout.size, dtype=np.uint8)
        for field in layout.fields.values():
            self._store(self._active, field, field.default)
        self._pending = self._active.copy()

    @classmethod
    def load(cls, path: Path | str = DEFAULT_REGISTERS) -> RegisterMap:
        """A register map with the layout and defaults of a YAML description."""
        return cls(load_layout(Path(path)))

    def field(self, name: str) -> Field:
        try:
            return self.layout.fields[name]
        except KeyError:
            raise RegisterAccessError(f"no register named {name!r}") from None

    def get(self, name: str, *, pending: bool = False) -> int:
        """A field's value in the active copy (or the pending one)."""
        field = self.field(name)
        word = self._word(self._copy(pending), field.address)
        return (word & field.mask) >> field.offset

    def set(self, name: str, value: int) -> None:
        """Change a configuration field in the pending copy (active after :meth:`apply`)."""
        field = self._checked(name, value)
        if field.access != "rw":
            raise RegisterAccessError(f"register {name!r} is read-only housekeeping")
        self._store(self._pending, field, value)

    def set_hk(self, name: str, value: int) -> None:
        """The FEE updates a housekeeping field (at once, in both copies)."""
        field = self._checked(name, value)
        if field.access != "ro":
            raise RegisterAccessError(f"register {name!r} is configuration, not housekeeping")
        self._store(self._active, field, value)
        self._store(self._pending, field, value)

    def word(self, address: int, *, pending: bool = False) -> int:
        """The 32-bit word at an address (RMAP read of one register)."""
        self._area(address, WORD)
        return self._word(self._copy(pending), address)

    def write_word(self, address: int, data: bytes) -> None:
        """What an RMAP write does: store one big-endian word in the pending copy."""
        value = decode_word(bytes(data))
        area = self._area(address, WORD)
        if area.access != "rw":
            raise RegisterAccessError(f"address {address:#06x} is in read-only area {area.name!r}")
        self._pending[address : address + WORD] = np.frombuffer(encode_word(value), np.uint8)

    def read(self, address: int, size: int, *, pending: bool = False) -> bytes:
        """A memory-map read: ``size`` bytes inside one area."""
        if size <= 0 or size % WORD:
            raise RegisterAccessError(f"read size must be a positive multiple of {WORD}: {size}")
        self._area(address, size)
        return self._copy(pending)[address : address + size].tobytes()

    def read_area(self, name: str) -> bytes:
        """The active contents of a named area (e.g. the housekeeping packet's payload)."""
        area = self.layout.areas.get(name)
        if area is None:
            raise RegisterAccessError(f"no area named {name!r}")
        return self._active[area.start : area.end].tobytes()

    def snapshot(self, *, pending: bool = False) -> bytes:
        """The whole memory map as bytes (what the DPU stores with each frame)."""
        return self._copy(pending).tobytes()

    def as_array(self, *, pending: bool = False) -> np.ndarray:
        """A uint8 copy of the memory map."""
        return self._copy(pending).copy()

    def restore(self, data: bytes) -> None:
        """Take a whole memory map (a snapshot) as both active and pending."""
        if len(data) != self.layout.size:
            raise RegisterAccessError(f"snapshot is {len(data)} bytes, expected {self.layout.size}")
        self._active[:] = np.frombuffer(data, dtype=np.uint8)
        self._pending[:] = self._active

    @property
    def pending_changes(self) -> bool:
        """True when a write waits for the next long pulse."""
        return not np.array_equal(self._active, self._pending)

    def apply(self) -> None:
        """The long sync pulse: load the pending configuration into the active copy."""
        for area in self.layout.areas.values():
            if area.access == "rw":
                self._active[area.start : area.end] = self._pending[area.start : area.end]

    def _checked(self, name: str, value: int) -> Field:
        field = self.field(name)
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise RegisterAccessError(f"register {name!r}: value must be an integer: {value!r}")
        if not 0 <= value <= field.maximum:
            raise RegisterAccessError(
                f"register {name!r}: {value} out of range 0..{field.maximum} ({field.width} bits)"
            )
        return field

    def _area(self, address: int, size: int) -> Area:
        if address % WORD:
            raise RegisterAccessError(f"address {address:#x} is not 32-bit word aligned")
        area = self.layout.area_at(address, size)
        if area is None:
            raise RegisterAccessError(f"{size} bytes at {address:#06x} are not inside one area")
        return area

    def _copy(self, pending: bool) -> np.ndarray:
        return self._pending if pending else self._active

    @staticmethod
    def _word(memory: np.ndarray, address: int) -> int:
        return int.from_bytes(memory[address : address + WORD].tobytes(), "big")

    def _store(self, memory: np.ndarray, field: Field, value: int) -> None:
        word = self._word(memory, field.address)
        word = (word & ~field.mask) | ((int(value) << field.offset) & field.mask)
        memory[field.address : field.address + WORD] = np.frombuffer(encode_word(word), np.uint8)
