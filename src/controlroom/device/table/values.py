"""The arguments of a table's commands: a type from a fixed list, and their checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from controlroom.device.synthesized import Argument
from controlroom.device.table.errors import TableError, check_keys
from controlroom.device.table.patterns import checked_pattern
from controlroom.device.validators import (
    Validator,
    choices,
    in_range,
    matches,
    max_length,
    plain_text,
    unit,
)

TYPES: dict[str, type] = {"float": float, "int": int, "str": str, "bool": bool}
ARG_KEYS = {"type", "range", "choices", "pattern", "max_length", "unit", "default", "doc"}
MAX_CHOICES = 200
MAX_TEXT_ARGUMENT = 200


def parse_arg(name: Any, spec: Any, where: str) -> Argument:
    """An argument from its table entry: ``{type: float, range: [0, 10], unit: V}`` or ``float``."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        raise TableError(f"{where}: an argument name is lower case letters, digits and _")
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise TableError(f"{where}: expected a type name or a mapping")
    check_keys(spec, ARG_KEYS, where)
    kind = TYPES.get(str(spec.get("type", "")))
    if kind is None:
        raise TableError(f"{where}.type: one of {', '.join(TYPES)}, not {spec.get('type')!r}")
    checks = _validators(spec, kind, where)
    arg = Argument(name, kind, checks, doc=str(spec.get("doc") or ""))
    if "default" in spec:
        try:
            default = arg.check(_typed(spec["default"], kind))
        except ValueError as exc:
            raise TableError(f"{where}.default: {exc}") from None
        arg = Argument(name, kind, checks, default, arg.doc)
    return arg


def _validators(spec: Mapping[str, Any], kind: type, where: str) -> tuple[Validator, ...]:
    found: list[Validator] = []
    if "range" in spec:
        found.append(_range(spec["range"], kind, f"{where}.range"))
    if "choices" in spec:
        values = spec["choices"]
        if not isinstance(values, list) or not 0 < len(values) <= MAX_CHOICES:
            raise TableError(f"{where}.choices: a list of 1 to {MAX_CHOICES} values")
        try:
            found.append(choices(*(_typed(v, kind) for v in values)))
        except ValueError as exc:
            raise TableError(f"{where}.choices: {exc}") from None
    if kind is str:
        found.extend(_text_checks(spec, where))
    elif "pattern" in spec or "max_length" in spec:
        raise TableError(f"{where}: pattern and max_length are for a str")
    if "unit" in spec:
        found.append(unit(str(spec["unit"])[:20]))
    return tuple(found)


def _range(bounds: Any, kind: type, where: str) -> Validator:
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(_is_number(b) for b in bounds)
    if kind not in (int, float) or not numbers or bounds[0] > bounds[1]:
        raise TableError(f"{where}: [low, high] for a number")
    return in_range(bounds[0], bounds[1])


def _text_checks(spec: Mapping[str, Any], where: str) -> list[Validator]:
    """The length first (a pattern never runs on a long text), then the characters.

    Free text goes into a command line: without choices or a pattern of its own
    it may not close a quoted string or start a second command.
    """
    length = spec.get("max_length", MAX_TEXT_ARGUMENT)
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise TableError(f"{where}.max_length: a positive whole number")
    checks: list[Validator] = [max_length(length)]
    if "pattern" in spec:
        checks.append(matches(checked_pattern(spec["pattern"], f"{where}.pattern")))
    elif "choices" not in spec:
        checks.append(plain_text(length))
    return checks


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _typed(value: Any, kind: type) -> Any:
    """A value from the table as ``kind``; ValueError if it is not one."""
    if kind is float and _is_number(value):
        return float(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ValueError(f"{value!r} is not a {kind.__name__}")
