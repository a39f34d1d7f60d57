"""Turning words of text into command arguments, guided by the command's JSON Schema.

Text clients (``controlroom call NAME COMMAND ARG...``, the pipe-command
server's ``Device|command arg ...``) give every value as a string. The
server's ``info`` describes each argument as JSON Schema, so ``5`` becomes an
integer or a float, ``on`` a boolean and ``1,2,3`` a list exactly as the
command expects. Without a schema, a value is read as JSON if it is JSON and
kept as a string otherwise. Ranges and choices are left to the server, which
checks them anyway and says what was wrong. Nothing is ever evaluated.

Mistakes raise :class:`~controlroom.device.errors.ArgumentError` with a
one-line message that names the argument.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from controlroom.device.errors import ArgumentError

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NULL = frozenset({"null", "none"})


def _params(order: list[str], properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"properties": properties, "required": required, "x-order": order}


_PERIOD = {"type": "number", "exclusiveMinimum": 0}
_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

SERVICE_PARAMS: dict[str, dict[str, Any]] = {
    "set_rates": _params(
        ["hk_period_s", "status_period_s"],
        {"hk_period_s": _PERIOD, "status_period_s": _PERIOD},
        [],
    ),
    "set_log_level": _params(
        ["level", "logger"],
        {"level": {"enum": _LEVELS}, "logger": {"type": "string", "default": ""}},
        ["level"],
    ),
    "lease": _params(
        ["seconds"], {"seconds": {"type": "number", "minimum": 1, "maximum": 86400}}, ["seconds"]
    ),
    "release": _params(["force"], {"force": {"type": "boolean", "default": False}}, []),
}
"""Arguments of the service commands with arguments (``info`` lists only their docs)."""


def parse_arguments(
    command: str, params: Mapping[str, Any], raw: Sequence[str]
) -> tuple[list[Any], dict[str, Any]]:
    """Positional values and ``key=value`` pairs, converted by ``params`` (JSON Schema)."""
    properties: Mapping[str, Any] = params.get("properties") or {}
    order = [str(n) for n in params.get("x-order") or properties]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for text in raw:
        key, sep, value = text.partition("=")
        if sep and key in properties:
            if key in kwargs:
                raise ArgumentError(f"{command}: argument {key!r} given twice")
            kwargs[key] = convert(value, properties[key], key)
        elif sep and key.isidentifier() and properties:
            names = ", ".join(properties) or "none"
            raise ArgumentError(f"{command} has no argument {key!r} (arguments: {names})")
        elif kwargs:
            raise ArgumentError(f"{command}: positional value {text!r} after key=value arguments")
        else:
            name = order[len(args)] if len(args) < len(order) else f"#{len(args) + 1}"
            args.append(convert(text, properties.get(name) or {}, name))
    return args, kwargs


def convert(text: str, schema: Mapping[str, Any], name: str) -> Any:
    """``text`` as the type ``schema`` describes; a one-line error names the argument."""
    try:
        return _convert(text, schema)
    except ValueError as exc:
        raise ArgumentError(f"argument {name!r}: {exc}") from None


def _convert(text: str, schema: Mapping[str, Any]) -> Any:
    if "anyOf" in schema:
        return _any_of(text, schema["anyOf"])
    if "enum" in schema:
        return _choice(text, schema["enum"])
    if schema.get("type") == "array":
        return _array(text, schema.get("items") or {})
    return _SCALARS.get(schema.get("type"), _json_or_text)(text)


def _any_of(text: str, options: Sequence[Mapping[str, Any]]) -> Any:
    if text.lower() in _NULL and any(o.get("type") == "null" for o in options):
        return None
    problems = []
    for option in options:
        try:
            return _convert(text, option)
        except ValueError as exc:
            problems.append(str(exc))
    raise ValueError(" or ".join(problems))


def _choice(text: str, choices: Sequence[Any]) -> Any:
    for choice in choices:
        if isinstance(choice, str) and choice.lower() == text.lower():
            return choice
        if not isinstance(choice, str) and _json_or_text(text) == choice:
            return choice
    # Not a value: maybe an enum member's name, which the server also accepts.
    return text


def _integer(text: str) -> int:
    try:
        return int(text, 0) if text.lower().startswith(("0x", "0b", "0o")) else int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> float | int:
    try:
        return int(text)  # keep integers exact; the server accepts them for floats
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false (yes/no, on/off, 1/0), got {text!r}")


def _null(text: str) -> None:
    if text.lower() not in _NULL:
        raise ValueError(f"expected null, got {text!r}")


_SCALARS: dict[Any, Callable[[str], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "null": _null,
    "string": str,
}
"""How text becomes a value of each scalar schema type; text of any other type is read as JSON."""


def _array(text: str, items: Mapping[str, Any]) -> list[Any]:
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"expected a JSON list, got {text!r}") from None
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {text!r}")
        return [_convert(v, items) if isinstance(v, str) else v for v in value]
    if not text.strip():
        return []
    return [_convert(part.strip(), items) for part in text.split(",")]


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
