"""``@command``: declare a device command once.

A declaration on an interface method gives three things: the controller's
behaviour over a transport (build a string, send it, parse the reply), the
proxy's method with the same signature and docstring, and a JSON Schema
description for the CLI, the web panel and clients in other languages.

Two styles:

* declarative: ``cmd`` (a ``string.Template`` over the method's arguments) or
  ``prepare`` builds the string; the method body is never run::

      @command(kind="query", cmd="KRDG? ${input}", parse=float)
      def temperature(self, input: Annotated[str, choices("A", "B")] = "A") -> float:
          "Temperature of one input in kelvin."

* hand-written: no ``cmd``: the body is the implementation, for commands that
  are more than one exchange. It still gets argument validation and is served
  and proxied like any other command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import string
import typing
from collections.abc import Callable, Mapping
from typing import Any, get_type_hints

from controlroom.device.argtypes import split_optional_annotated, unwrap_annotated
from controlroom.device.errors import ArgumentError, DeclarationError
from controlroom.device.spec import KINDS, CommandSpec, Kind, Parameter
from controlroom.device.validators import Validator, as_validator
from controlroom.rpc.access import COMMAND, READ, check_access
from controlroom.wire import DEFAULT_REGISTRY


class Command:
    """The descriptor ``@command`` leaves on the class in place of the method."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.func = func
        self.options = options
        self.__doc__ = func.__doc__
        self.__wrapped__ = func
        self._name = func.__name__
        self._spec: CommandSpec | None = None
        # Built here rather than in __set_name__, where Python 3.11 would wrap a
        # DeclarationError in a RuntimeError.
        # A hint naming a class defined later in the module: build on first use.
        with contextlib.suppress(UnresolvedHint):
            self._spec = build_spec(self._name, func, options)

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        if self._spec is not None and self._spec.name != name:
            self._spec = dataclasses.replace(self._spec, name=name)

    @property
    def spec(self) -> CommandSpec:
        if self._spec is None:
            self._spec = build_spec(self._name, self.func, self.options)
        return self._spec

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return BoundCommand(obj, self.spec)


class BoundCommand:
    """A command looked up on an instance: calling it runs the instance's ``_run_command``."""

    __slots__ = ("__self__", "spec")

    def __init__(self, owner: Any, spec: CommandSpec) -> None:
        self.__self__ = owner
        self.spec = spec

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__self__._run_command(self.spec, args, kwargs)

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return self.spec.doc

    @property
    def __signature__(self) -> inspect.Signature:
        params = list(self.spec.signature.parameters.values())[1:]
        return self.spec.signature.replace(parameters=params)

    def __repr__(self) -> str:
        return f"<command {self.spec.name} of {self.__self__!r}>"


def command(
    kind: Kind | None = None,
    cmd: str | None = None,
    *,
    prepare: Callable[..., str] | None = None,
    parse: Callable[[str], Any] | None = None,
    check: Callable[[str], None] | None = None,
    before: Callable[..., None] | None = None,
    after: Callable[..., Any] | None = None,
    validators: Mapping[str, Validator] | None = None,
    timeout: float | None = None,
    access: str | None = None,
    interrupts: bool = False,
    unit: str = "",
) -> Callable[[Callable[..., Any]], Command]:
    """Declare a device command; see the module docstring.

    ``access`` is who may run it (read, command or admin; see
    :mod:`controlroom.rpc.access`); by default a query or read is ``read``
    and anything else ``command``. ``interrupts=True`` makes it run at once,
    even while another command of the device is in progress, and end that
    command's waits (:mod:`controlroom.device.interrupt`): for stop, abort,
    output off. ``unit`` is the unit of the value returned (in the schema).
    """
    options = {
        "kind": kind,
        "cmd": cmd,
        "prepare": prepare,
        "parse": parse,
        "check": check,
        "before": before,
        "after": after,
        "validators": dict(validators or {}),
        "timeout": timeout,
        "access": access,
        "interrupts": interrupts,
        "unit": unit,
    }

    def decorate(func: Callable[..., Any]) -> Command:
        return Command(func, options)

    return decorate


def build_spec(name: str, func: Callable[..., Any], options: dict[str, Any]) -> CommandSpec:
    kind, template = options["kind"], options["cmd"]
    _check_kind(name, kind, template, options["prepare"])
    signature = inspect.signature(func)
    hints = _type_hints(name, func)
    parameters = _parameters(name, signature, hints, options["validators"])
    if template is not None:
        _check_template(name, template, {p.name for p in parameters})
    returns = unwrap_annotated(hints.get("return", Any))[0]
    interrupts = _interrupts(name, options.get("interrupts", False), options.get("access"))
    # Whatever its kind, a command that stops a device is a command, not a read.
    access = COMMAND if interrupts and options["access"] is None else None
    access = access or _access(name, options.get("access"), kind)
    _register_enums([p.annotation for p in parameters] + [returns])
    return CommandSpec(
        name=name,
        func=func,
        kind=kind,
        template=template,
        prepare=options["prepare"],
        parse=options["parse"],
        check=options["check"],
        before=options["before"],
        after=options["after"],
        parameters=parameters,
        returns=returns,
        doc=inspect.cleandoc(func.__doc__ or "").strip(),
        signature=signature,
        timeout=options["timeout"],
        access=access,
        interrupts=interrupts,
        unit=str(options.get("unit") or ""),
        _by_name={p.name: p for p in parameters},
        _positional=_positional(parameters),
    )


_SIMPLE_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _positional(parameters: tuple[Parameter, ...]) -> tuple[Parameter, ...] | None:
    if any(p.kind not in _SIMPLE_KINDS for p in parameters):
        return None
    return tuple(p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _register_enums(annotations: list[Any]) -> None:
    # Enums in a command's signature travel as themselves, not as bare values.
    for annotation in annotations:
        for candidate in (annotation, *typing.get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                DEFAULT_REGISTRY.register_enum(candidate)


def _check_kind(name: str, kind: Any, template: Any, prepare: Any) -> None:
    if kind is not None and kind not in KINDS:
        raise DeclarationError(f"{name}: kind must be one of {KINDS}, not {kind!r}")
    if kind is None and (template is not None or prepare is not None):
        raise DeclarationError(f"{name}: a command string needs a kind ({', '.join(KINDS)})")
    if kind in ("write", "query", "transaction") and template is None and prepare is None:
        raise DeclarationError(f"{name}: kind {kind!r} needs cmd= or prepare=")


def _interrupts(name: str, declared: Any, access: Any) -> bool:
    if not isinstance(declared, bool):
        raise DeclarationError(f"{name}: interrupts must be True or False, not {declared!r}")
    if declared and access == READ:
        # It runs beside the command it interrupts: a read has nothing to interrupt.
        raise DeclarationError(f"{name}: a read-only command cannot interrupt")
    return declared


def _access(name: str, declared: Any, kind: Any) -> str:
    if declared is None:
        return READ if kind in ("query", "read") else COMMAND
    try:
        return check_access(declared)
    except ValueError as exc:
        raise DeclarationError(f"{name}: {exc}") from None


class UnresolvedHint(DeclarationError):
    """A type hint names something that does not exist (yet)."""


def _type_hints(name: str, func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(func, include_extras=True)
    except NameError as exc:
        raise UnresolvedHint(f"{name}: cannot resolve type hints: {exc}") from exc
    except Exception as exc:  # any other failure is a bug in the declaration
        raise DeclarationError(f"{name}: cannot resolve type hints: {exc}") from exc


def _parameters(
    name: str,
    signature: inspect.Signature,
    hints: dict[str, Any],
    validators: dict[str, Validator],
) -> tuple[Parameter, ...]:
    params = list(signature.parameters.values())
    if not params or params[0].name != "self":
        raise DeclarationError(f"{name}: a command is a method; its first parameter is self")
    unknown = set(validators) - {p.name for p in params[1:]}
    if unknown:
        raise DeclarationError(f"{name}: validators for unknown arguments {sorted(unknown)}")
    result = []
    for param in params[1:]:
        annotation, metadata = unwrap_annotated(hints.get(param.name, Any))
        annotation, inner = split_optional_annotated(annotation)
        declared = [m for m in (*metadata, *inner) if isinstance(m, Validator)]
        if param.name in validators:
            declared.append(as_validator(name, param.name, validators[param.name]))
        result.append(
            _checked_default(
                name, Parameter(param.name, annotation, tuple(declared), param.default, param.kind)
            )
        )
    return tuple(result)


def _checked_default(name: str, param: Parameter) -> Parameter:
    # A default is checked once, here, so a bad one fails at import, not mid-test.
    if param.required or param.default is None:
        return param
    try:
        value = param.check(param.default)
    except ArgumentError as exc:
        raise DeclarationError(f"{name}: default of {exc}") from None
    return dataclasses.replace(param, default=value)


def _check_template(name: str, template: str, arguments: set[str]) -> None:
    parsed = string.Template(template)
    if not parsed.is_valid():
        raise DeclarationError(f"{name}: bad command template {template!r} (use ${{name}}, $$)")
    missing = set(parsed.get_identifiers()) - arguments
    if missing:
        raise DeclarationError(f"{name}: template {template!r} names unknown {sorted(missing)}")
