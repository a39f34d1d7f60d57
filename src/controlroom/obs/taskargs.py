"""The arguments of a task: which type hints a form can ask for, their JSON Schema, coercion.

A task's arguments are filled in by an operator in a form, so only the types
a form can ask for are accepted: ``str``, ``int``, ``float``, ``bool``, an
``Enum`` subclass (its values are the choices), ``list[float]`` and
``list[int]`` (lists of numbers), ``pathlib.Path`` and ``X | None`` of those.
``Annotated[T, ...]`` counts as ``T``. Any other hint is refused when the
module is imported, naming the parameter, not when an operator presses Run.

Values arrive as JSON (and often as the text of a form field), so coercion is
lenient where no meaning is lost: ``"12"`` for an int, ``"1, 2.5"`` for a list
of numbers, ``"true"`` for a bool, an enum member by value or by name.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.obs.errors import ObsError


class TaskError(ObsError):
    """Root of the errors about tasks: their declaration, arguments and discovery."""


class TaskDefinitionError(TaskError, TypeError):
    """A ``@task`` declaration cannot be turned into a form (raised at import)."""


class TaskArgumentError(TaskError, ValueError):
    """An argument given to a task is missing, unknown or of the wrong type."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"argument {argument!r}: {message}")
        self.argument = argument


REQUIRED: Any = object()  # the default of an argument the operator must give
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_NUMBER_LISTS: dict[Any, str] = {list[float]: "number", list[int]: "integer"}
_TRUE, _FALSE = frozenset({"true", "yes", "on", "1"}), frozenset({"false", "no", "off", "0"})
SUPPORTED = "str, int, float, bool, an Enum, list[float], list[int], pathlib.Path or X | None"


@dataclass(frozen=True)
class TaskParameter:
    """One argument of a task: its base type, whether None is allowed, its default."""

    name: str
    base: Any  # str, int, float, bool, Path, list[float], list[int] or an Enum subclass
    optional: bool = False
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def schema(self) -> dict[str, Any]:
        """This argument as JSON Schema (with ``default`` when it has one)."""
        schema = base_schema(self.base)
        if self.optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["title"] = self.name
        if not self.required:
            schema["default"] = to_json(self.default)
        return schema

    def coerce(self, value: Any) -> Any:
        """``value`` (from JSON or a form) as this argument's type; TaskArgumentError if not."""
        if value is None or (self.optional and value == "" and self.base is not str):
            if self.optional:
                return None
            raise TaskArgumentError(self.name, "a value is required (got null)")
        try:
            return _coerce(value, self.base)
        except (TypeError, ValueError) as exc:
            raise TaskArgumentError(self.name, str(exc)) from None


def parameter(task: str, name: str, hint: Any, default: Any) -> TaskParameter:
    """The :class:`TaskParameter` for ``hint``; refuses hints a form cannot ask for."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if not optional or len(members) != 1:
            raise TaskDefinitionError(
                f"task {task}: argument {name!r} has type {_shown(hint)}; a union is supported "
                f"only as X | None (supported: {SUPPORTED})"
            )
        hint = members[0]
    if not _supported(hint):
        raise TaskDefinitionError(
            f"task {task}: argument {name!r} has type {_shown(hint)}, which a form cannot ask "
            f"for (supported: {SUPPORTED})"
        )
    found = TaskParameter(name, hint, optional or default is None, default)
    if default is not REQUIRED and default is not None:
        try:  # a default the form cannot show is a mistake in the module, found at import
            found = TaskParameter(name, hint, found.optional, _coerce(default, hint))
        except (TypeError, ValueError) as exc:
            raise TaskDefinitionError(f"task {task}: default of {name!r}: {exc}") from None
    return found


def _supported(hint: Any) -> bool:
    if hint in _SCALARS or hint in _NUMBER_LISTS or hint is Path:
        return True
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def _shown(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def base_schema(base: Any) -> dict[str, Any]:
    if base in _SCALARS:
        return {"type": _SCALARS[base]}
    if base in _NUMBER_LISTS:
        return {"type": "array", "items": {"type": _NUMBER_LISTS[base]}}
    if base is Path:
        return {"type": "string", "format": "path"}
    members = list(base)
    return {
        "enum": [to_json(m) for m in members],
        "x-enum-names": [m.name for m in members],
        "x-enum-type": base.__name__,
    }


def to_json(value: Any) -> Any:
    """A value as JSON shows it: enum members by value, paths as text, tuples as lists."""
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _coerce(value: Any, base: Any) -> Any:
    if base is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"expected text, got {value!r}")
    if base is bool:
        return _boolean(value)
    if base is int or base is float:
        return _number(value, base)
    if base is Path:
        if isinstance(value, str | Path) and str(value).strip():
            return Path(str(value).strip()).expanduser()
        raise TypeError(f"expected a path, got {value!r}")
    if base in _NUMBER_LISTS:
        item = typing.get_args(base)[0]
        if isinstance(value, str):  # the text of a form field: "1, 2.5 3"
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list of numbers, got {value!r}")
        return [_number(v, item) for v in value]
    return _member(value, base)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TypeError(f"expected true or false, got {value!r}")


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected {_a(kind)}, got {value!r}")
    try:
        number = _parsed(value.strip(), kind) if isinstance(value, str) else value
    except ValueError:
        raise TypeError(f"expected {_a(kind)}, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    if kind is float:
        return float(number)
    if number != int(number):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(number)


def _parsed(text: str, kind: type) -> int | float:
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        return float(text)  # "3.0" is an integer too; "3.5" is refused below


def _a(kind: type) -> str:
    return "an integer" if kind is int else "a number"


def _member(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, cls):
        return value
    for member in cls:
        if value == member.value or (isinstance(value, str) and value == str(member.value)):
            return member
    if isinstance(value, str):
        for member in cls:  # operators type "medium" as readily as "MEDIUM"
            if member.name.casefold() == value.strip().casefold():
                return member
    choices = ", ".join(f"{m.name} ({m.value!r})" for m in cls)
    raise ValueError(f"{value!r} is not a {cls.__name__}: one of {choices}")
