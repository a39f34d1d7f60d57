"""Argument types: check and coerce values against annotations, describe them as JSON Schema.

Only the types that make sense on an instrument command are understood: bool,
int, float, str, Enum subclasses, lists/tuples of those, numpy arrays and
``X | None``. Other annotations are passed through unchecked.
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from typing import Any

_SCALARS: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def unwrap_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """Split ``Annotated[T, m1, m2]`` into ``(T, (m1, m2))``."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return base, tuple(metadata)
    return annotation, ()


def allows_none(annotation: Any) -> bool:
    return annotation is None or _optional_inner(annotation) is not None


def split_optional_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """``Annotated[T, m] | None`` → ``(T | None, (m,))``; other annotations unchanged."""
    inner = _optional_inner(annotation)
    if inner is None or typing.get_origin(inner) is not typing.Annotated:
        return annotation, ()
    base, metadata = unwrap_annotated(inner)
    return base | None, metadata


def _optional_inner(annotation: Any) -> Any | None:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
    return None


def coerce(value: Any, annotation: Any) -> Any:
    """Return ``value`` checked against ``annotation``; raise ValueError naming the type."""
    if annotation is Any or annotation is typing.Any or annotation is None:
        return value
    inner = _optional_inner(annotation)
    if inner is not None:
        return None if value is None else coerce(value, inner)
    if isinstance(annotation, type):
        return _coerce_to_type(value, annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return _coerce_sequence(value, origin, typing.get_args(annotation))
    return value


def _numpy() -> Any:
    # numpy values can only exist once numpy is imported; no need to import it here.
    return sys.modules.get("numpy")


def _coerce_to_type(value: Any, annotation: type) -> Any:
    np = _numpy()
    if issubclass(annotation, enum.Enum):
        return _coerce_enum(value, annotation)
    if annotation is float:
        if _is_number(value, np) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"expected a number, got {value!r}")
    if annotation is int:
        if _is_integer(value, np) and not isinstance(value, bool):
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")
    if annotation is bool:
        if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
            return bool(value)
        raise ValueError(f"expected true or false, got {value!r}")
    if np is not None and annotation is np.ndarray:
        return np.asarray(value)
    if not isinstance(value, annotation):
        raise ValueError(f"expected {annotation.__name__}, got {type(value).__name__} {value!r}")
    return value


def _is_number(value: Any, np: Any) -> bool:
    if isinstance(value, int | float):
        return True
    return np is not None and isinstance(value, np.integer | np.floating)


def _is_integer(value: Any, np: Any) -> bool:
    if isinstance(value, int):
        return True
    return np is not None and isinstance(value, np.integer)


def _coerce_enum(value: Any, annotation: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, annotation):
        return value
    # By value first, as Enum(value) does; the name is a convenience for humans (CLI).
    for member in annotation:
        if value == member.value:
            return member
    if isinstance(value, str) and value in annotation.__members__:
        return annotation.__members__[value]
    names = ", ".join(m.name for m in annotation)
    raise ValueError(f"{value!r} is not a {annotation.__name__} (one of {names})")


def _coerce_sequence(value: Any, origin: type, args: tuple[Any, ...]) -> Any:
    np = _numpy()
    sequence = isinstance(value, list | tuple) or (np is not None and isinstance(value, np.ndarray))
    if isinstance(value, str | bytes) or not sequence:
        raise ValueError(f"expected a list, got {value!r}")
    item = args[0] if args and (origin is list or (len(args) == 2 and args[1] is Ellipsis)) else Any
    items = [coerce(v, item) for v in value]
    return tuple(items) if origin is tuple else items


def json_schema(annotation: Any) -> dict[str, Any]:
    """Describe an annotation as JSON Schema (``{}`` when it cannot be described)."""
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    inner = _optional_inner(annotation)
    if inner is not None:
        return {"anyOf": [json_schema(inner), {"type": "null"}]}
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return {
                "enum": [m.value for m in annotation],
                "x-enum-names": [m.name for m in annotation],  # what forms show
                "title": annotation.__name__,
            }
        if annotation in _SCALARS:
            return {"type": _SCALARS[annotation]}
        if annotation.__module__ == "numpy" and annotation.__name__ == "ndarray":
            return {"type": "array", "x-ndarray": True}
        return {}
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [json_schema(a) for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "items": False}
        return {"type": "array", "items": json_schema(args[0]) if args else {}}
    return {}
