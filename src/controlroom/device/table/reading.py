"""How a table reads an instrument's reply: a few declarative steps, in a fixed order.

``returns: float`` is the short form. The long form takes, in this order: a
``pattern`` whose first group (or whole match) is kept, a ``split`` separator
with the ``index`` of the field to keep (lists keep every field), a ``map``
from the text to a value, and the conversion to ``type``. A reply that does
not fit raises ReplyError quoting it, so a wrong table shows at the first call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.device.errors import ReplyError
from controlroom.device.replies import parse_bool, parse_float, parse_int
from controlroom.device.table.errors import TableError, check_keys
from controlroom.device.table.patterns import checked_pattern

READING_KEYS = {"type", "unit", "pattern", "split", "index", "map"}
MAX_MAP = 200

_SCALARS: dict[str, tuple[type, Callable[[str], Any]]] = {
    "float": (float, parse_float),
    "int": (int, parse_int),
    "bool": (bool, parse_bool),
    "str": (str, str.strip),
}
_LISTS = {f"list[{name}]": name for name in ("float", "int", "str")}
_ANNOTATIONS: dict[str, Any] = {
    "float": float,
    "int": int,
    "bool": bool,
    "str": str,
    "list[float]": list[float],
    "list[int]": list[int],
    "list[str]": list[str],
}


@dataclass(frozen=True)
class Reading:
    """How one reply becomes a value."""

    type_name: str
    unit: str = ""
    pattern: re.Pattern[str] | None = None
    split: str | None = None
    index: int = 0
    mapping: Mapping[str, Any] = field(default_factory=dict)

    @property
    def annotation(self) -> Any:
        return _ANNOTATIONS[self.type_name]

    def parse(self, reply: str) -> Any:
        text = self._matched(reply)
        item = _LISTS.get(self.type_name)
        if item is not None:
            return [self._scalar(part, item) for part in text.split(self.split or ",")]
        if self.split is not None:
            parts = text.split(self.split)
            if not -len(parts) <= self.index < len(parts):
                raise ReplyError(f"expected field {self.index} in the reply {reply!r}")
            text = parts[self.index]
        return self._scalar(text, self.type_name)

    def _matched(self, reply: str) -> str:
        if self.pattern is None:
            return reply
        found = self.pattern.search(reply)
        if found is None:
            raise ReplyError(f"the reply {reply!r} does not match /{self.pattern.pattern}/")
        kept = found.group(1) if self.pattern.groups else found.group(0)
        if kept is None:  # an optional group that took no part in the match
            raise ReplyError(
                f"the reply {reply!r} has no value where /{self.pattern.pattern}/ looks"
            )
        return kept

    def _scalar(self, text: str, type_name: str) -> Any:
        key = text.strip()
        if key in self.mapping:
            return self.mapping[key]
        return _SCALARS[type_name][1](key)


def parse_reading(spec: Any, where: str) -> Reading:
    """A reading from its table entry (a type name, or a mapping of the steps)."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise TableError(f"{where}: expected a type name or a mapping")
    check_keys(spec, READING_KEYS, where)
    type_name = str(spec.get("type", "str"))
    if type_name not in _SCALARS and type_name not in _LISTS:
        known = ", ".join([*_SCALARS, *_LISTS])
        raise TableError(f"{where}.type: one of {known}, not {type_name!r}")
    index = spec.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise TableError(f"{where}.index: a whole number")
    split = spec.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        raise TableError(f"{where}.split: a separator string")
    return Reading(
        type_name=type_name,
        unit=str(spec.get("unit") or "")[:20],
        pattern=_pattern(spec.get("pattern"), f"{where}.pattern"),
        split=split,
        index=index,
        mapping=_mapping(spec.get("map"), type_name, f"{where}.map"),
    )


def _pattern(value: Any, where: str) -> re.Pattern[str] | None:
    return None if value is None else re.compile(checked_pattern(value, where))


def _mapping(value: Any, type_name: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not 0 < len(value) <= MAX_MAP:
        raise TableError(f"{where}: a mapping of 1 to {MAX_MAP} reply texts to values")
    kind = _SCALARS[_LISTS.get(type_name, type_name)][0]
    mapped: dict[str, Any] = {}
    for text, given in value.items():
        whole = isinstance(given, int) and not isinstance(given, bool)
        target = float(given) if kind is float and whole else given
        if not isinstance(target, kind) or (kind is int and isinstance(target, bool)):
            raise TableError(f"{where}.{text}: {target!r} is not a {kind.__name__}")
        mapped[str(text).strip()] = target
    return mapped
