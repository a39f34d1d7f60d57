"""The description of one declared command: arguments, string template, hooks, schema."""

from __future__ import annotations

import enum
import inspect
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from controlroom.device.argtypes import allows_none, coerce, json_schema
from controlroom.device.errors import ArgumentError
from controlroom.device.validators import Validator

Kind = Literal["write", "read", "query", "transaction"]
KINDS: tuple[str, ...] = ("write", "read", "query", "transaction")


@dataclass(frozen=True)
class Parameter:
    """One argument of a command: its type, validators and default."""

    name: str
    annotation: Any
    validators: tuple[Validator, ...]
    default: Any = inspect.Parameter.empty
    kind: inspect._ParameterKind = inspect.Parameter.POSITIONAL_OR_KEYWORD

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def check(self, value: Any) -> Any:
        if value is None and allows_none(self.annotation):
            return None  # validators describe the values, not their absence
        try:
            value = coerce(value, self.annotation)
            for validator in self.validators:
                value = validator(value)
        except ValueError as exc:
            raise ArgumentError(f"argument {self.name!r}: {exc}") from None
        return value

    def schema(self) -> dict[str, Any]:
        schema = dict(json_schema(self.annotation))
        for validator in self.validators:
            schema.update(validator.schema())
        if not self.required and _is_plain(_plain_value(self.default)):
            schema["default"] = _plain_value(self.default)
        return schema


def _plain_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


@dataclass(frozen=True)
class CommandSpec:
    """Everything known about one declared command."""

    name: str
    func: Callable[..., Any]
    kind: Kind | None
    template: str | None
    prepare: Callable[..., str] | None
    parse: Callable[[str], Any] | None
    check: Callable[[str], None] | None
    before: Callable[..., None] | None
    after: Callable[..., Any] | None
    parameters: tuple[Parameter, ...]
    returns: Any
    doc: str
    signature: inspect.Signature
    timeout: float | None = None
    # Who may run it (controlroom.rpc.access): read, command or admin.
    access: str = "command"
    # Runs at once, even while another command of the device is in progress (stop, abort).
    interrupts: bool = False
    unit: str = ""  # of the value returned, when it is a quantity
    _by_name: Mapping[str, Parameter] = field(default_factory=dict, repr=False)
    # None when the signature has variadic or positional-only parameters.
    _positional: tuple[Parameter, ...] | None = field(default=None, repr=False)

    @property
    def declarative(self) -> bool:
        return self.kind is not None

    @property
    def changes_device(self) -> bool:
        """True for commands that alter the device (writes and hand-written actions)."""
        return self.kind in ("write", "transaction", None)

    def bind(self, args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Check a call's arguments; return them by name, validated, defaults applied."""
        if not args and not kwargs and not self.parameters:
            return {}
        if not self._simple:
            return self._bind_general(args, kwargs)
        positional = self._positional
        assert positional is not None
        if len(args) > len(positional):
            raise ArgumentError(
                f"{self.name}() takes {len(positional)} positional arguments "
                f"but {len(args)} were given"
            )
        arguments: dict[str, Any] = {}
        for param, value in zip(positional, args, strict=False):
            arguments[param.name] = param.check(value)
        for key, value in kwargs.items():
            named = self._by_name.get(key)
            if named is None:
                raise ArgumentError(f"{self.name}() got an unexpected keyword argument {key!r}")
            if key in arguments:
                raise ArgumentError(f"{self.name}() got multiple values for argument {key!r}")
            arguments[key] = named.check(value)
        if len(arguments) < len(self.parameters):
            self._fill_defaults(arguments)
        return arguments

    def _fill_defaults(self, arguments: dict[str, Any]) -> None:
        for param in self.parameters:
            if param.name not in arguments:
                if param.required:
                    raise ArgumentError(
                        f"{self.name}() missing a required argument: {param.name!r}"
                    )
                arguments[param.name] = param.default

    def _bind_general(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        # Variadic or positional-only signatures: let inspect do the binding.
        try:
            bound = self.signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise ArgumentError(f"{self.name}(): {exc}") from None
        given = set(bound.arguments)  # defaults were checked at declaration
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(self.signature.parameters)))
        for name, value in arguments.items():
            param = self._by_name.get(name)
            if name in given and param is not None and param.kind not in _VARIADIC:
                arguments[name] = param.check(value)
        return arguments

    def call(self, owner: Any, arguments: Mapping[str, Any]) -> Any:
        """Run a hand-written command's body with arguments from :meth:`bind`."""
        if self._simple:
            return self.func(owner, **arguments)
        args: list[Any] = [owner]
        kwargs: dict[str, Any] = {}
        for param in self.parameters:
            value = arguments[param.name]
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            elif param.kind is inspect.Parameter.VAR_POSITIONAL:
                args.extend(value)
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                kwargs.update(value)
            else:
                kwargs[param.name] = value
        return self.func(*args, **kwargs)

    @property
    def _simple(self) -> bool:
        return self._positional is not None

    def render(self, arguments: Mapping[str, Any]) -> str:
        """The command string for validated arguments."""
        if self.prepare is not None:
            return self.prepare(**arguments)
        assert self.template is not None
        values = {k: _render_value(v) for k, v in arguments.items()}
        return string.Template(self.template).substitute(values)

    def schema(self) -> dict[str, Any]:
        """JSON Schema description of the command (its arguments as one object)."""
        properties = {p.name: p.schema() for p in self.parameters if p.kind not in _VARIADIC}
        required = [p.name for p in self.parameters if p.required and p.kind not in _VARIADIC]
        return {
            "name": self.name,
            "kind": self.kind or "custom",
            "doc": self.doc,
            "changes_device": self.changes_device,
            "access": self.access,
            **({"interrupts": True} if self.interrupts else {}),
            "params": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
                "x-order": [p.name for p in self.parameters],
            },
            "returns": {
                **json_schema(self.returns),
                **({"x-unit": self.unit} if self.unit else {}),
            },
        }


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _render_value(value: Any) -> str:
    # Instruments want 1/0 for booleans and plain values for enums.
    if isinstance(value, bool):
        return "1" if value else "0"
    enum_value = getattr(value, "value", None)
    if enum_value is not None and type(value).__module__ != "builtins":
        return str(enum_value)
    return str(value)
