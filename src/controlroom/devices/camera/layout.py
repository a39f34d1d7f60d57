"""The register map layout: areas and bit fields read from YAML and checked.

A layout names every field of the FEE memory map: the 32-bit word it lives
in (``address``, word aligned), its bit ``offset`` counted from the least
significant bit of the big-endian word, its ``width``, its power-on
``default`` and its ``access``. Fields live in areas: the configuration area
(``rw``, written by RMAP, loaded by the FEE on the long pulse) and the
housekeeping area (``ro``, updated by the FEE itself). Every inconsistency is
refused with a message that names the register and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controlroom.devices.camera.errors import RegisterMapError

MAX_FILE_BYTES = 1 << 20
MAX_MAP_BYTES = 1 << 16
MAX_REGISTERS = 1024
WORD_BITS = 32
ACCESS = ("rw", "ro")
AREA_KEYS = frozenset({"start", "size", "access"})
FIELD_KEYS = frozenset({"name", "address", "offset", "width", "default", "access", "description"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Area:
    """A contiguous address range whose fields share one access mode."""

    name: str
    start: int
    size: int
    access: str

    @property
    def end(self) -> int:
        return self.start + self.size

    def contains(self, address: int, size: int = 4) -> bool:
        return self.start <= address and address + size <= self.end


@dataclass(frozen=True)
class Field:
    """One named bit field inside a 32-bit register word."""

    name: str
    address: int
    offset: int
    width: int
    default: int
    access: str
    description: str

    @property
    def mask(self) -> int:
        """The field's bits in its word."""
        return ((1 << self.width) - 1) << self.offset

    @property
    def maximum(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class Layout:
    """All areas and fields of one register map, by name."""

    areas: Mapping[str, Area]
    fields: Mapping[str, Field]

    @property
    def size(self) -> int:
        """Bytes of memory needed to hold every area."""
        return max(area.end for area in self.areas.values())

    def area_at(self, address: int, size: int = 4) -> Area | None:
        return next((a for a in self.areas.values() if a.contains(address, size)), None)


def load_layout(path: Path) -> Layout:
    """Read and check a register map description (YAML)."""
    with path.open("rb") as stream:
        raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise RegisterMapError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise RegisterMapError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_layout(document)
    except RegisterMapError as exc:
        raise RegisterMapError(f"{path}: {exc}") from exc


def parse_layout(document: Any) -> Layout:
    """Check a parsed description: ``{areas: {...}, registers: [...]}``."""
    _require_mapping(document, "the register map", frozenset({"areas", "registers"}))
    areas = _parse_areas(document["areas"])
    registers = document["registers"]
    if not isinstance(registers, list) or not registers:
        raise RegisterMapError("'registers' must be a non-empty list")
    if len(registers) > MAX_REGISTERS:
        raise RegisterMapError(f"{len(registers)} registers, at most {MAX_REGISTERS}")
    fields: dict[str, Field] = {}
    for index, entry in enumerate(registers):
        field = _parse_field(entry, index, areas)
        if field.name in fields:
            raise RegisterMapError(f"register {field.name!r}: duplicate name")
        _refuse_overlap(field, fields.values())
        fields[field.name] = field
    return Layout(areas=areas, fields=fields)


def _parse_areas(entries: Any) -> dict[str, Area]:
    if not isinstance(entries, dict) or not entries:
        raise RegisterMapError(
            "'areas' must be a non-empty mapping of name to {start, size, access}"
        )
    areas: dict[str, Area] = {}
    for name, entry in entries.items():
        what = f"area {name!r}"
        _require_mapping(entry, what, AREA_KEYS)
        start, size = _integer(entry, "start", what), _integer(entry, "size", what)
        if start % 4 or size % 4 or size <= 0:
            raise RegisterMapError(f"{what}: start and size must be positive multiples of 4")
        if start + size > MAX_MAP_BYTES:
            raise RegisterMapError(f"{what}: ends beyond {MAX_MAP_BYTES:#x}")
        area = Area(str(name), start, size, _access(entry, what))
        for other in areas.values():
            if area.start < other.end and other.start < area.end:
                raise RegisterMapError(f"{what}: overlaps area {other.name!r}")
        areas[area.name] = area
    return areas


def _parse_field(entry: Any, index: int, areas: Mapping[str, Area]) -> Field:
    name = entry.get("name") if isinstance(entry, dict) else None
    if not isinstance(name, str) or not NAME.match(name):
        raise RegisterMapError(f"register #{index}: 'name' must match {NAME.pattern}")
    what = f"register {name!r}"
    _require_mapping(entry, what, FIELD_KEYS)
    address = _integer(entry, "address", what)
    offset, width = _integer(entry, "offset", what), _integer(entry, "width", what)
    default = _integer(entry, "default", what)
    if address % 4:
        raise RegisterMapError(f"{what}: address {address:#x} is not 32-bit word aligned")
    if offset < 0 or width < 1 or offset + width > WORD_BITS:
        raise RegisterMapError(
            f"{what}: bits {offset}..{offset + width - 1} do not fit in a {WORD_BITS}-bit word"
        )
    if not 0 <= default < 1 << width:
        raise RegisterMapError(f"{what}: default {default} out of range 0..{(1 << width) - 1}")
    description = entry["description"]
    if not isinstance(description, str) or not description.strip():
        raise RegisterMapError(f"{what}: 'description' must be a non-empty string")
    field = Field(name, address, offset, width, default, _access(entry, what), description)
    area = next((a for a in areas.values() if a.contains(address)), None)
    if area is None:
        raise RegisterMapError(f"{what}: address {address:#x} is in no area")
    if area.access != field.access:
        raise RegisterMapError(f"{what}: access {field.access!r} in {area.access!r} area")
    return field


def _refuse_overlap(field: Field, others: Iterable[Field]) -> None:
    for other in others:
        if other.address == field.address and other.mask & field.mask:
            raise RegisterMapError(
                f"register {field.name!r}: bits overlap register {other.name!r} "
                f"in word {field.address:#06x}"
            )


def _require_mapping(entry: Any, what: str, keys: frozenset[str]) -> None:
    if not isinstance(entry, dict):
        raise RegisterMapError(f"{what}: expected a mapping with keys {sorted(keys)}")
    unknown = set(entry) - keys
    if unknown:
        raise RegisterMapError(f"{what}: unknown keys {sorted(map(str, unknown))}")
    missing = keys - set(entry)
    if missing:
        raise RegisterMapError(f"{what}: missing keys {sorted(missing)}")


def _integer(entry: dict[str, Any], key: str, what: str) -> int:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RegisterMapError(f"{what}: {key!r} must be an integer, got {value!r}")
    return value


def _access(entry: dict[str, Any], what: str) -> str:
    access = entry["access"]
    if access not in ACCESS:
        raise RegisterMapError(f"{what}: access must be one of {ACCESS}, got {access!r}")
    return str(access)
