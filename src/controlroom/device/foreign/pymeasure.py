"""A PyMeasure instrument served as a controlroom device.

PyMeasure declares an instrument's controls and measurements as properties
made by ``Instrument.control`` / ``measurement`` / ``setting``; each keeps its
command strings, its validator and its valid values as the defaults of its
getter and setter. They become commands here: ``<name>()`` reads a control or
a measurement, ``set_<name>(value)`` sets a control or a setting, with the
values turned into a range or choices in the schema; the public methods the
driver class itself defines become commands with their own signatures. The
raw ``write``/``ask``/``read`` of the base classes are never served: a client
only reaches what the driver declares.

PyMeasure talks to the instrument through :class:`TransportAdapter`, so the
driver uses controlroom's own TCP, serial or VISA transports (and reaches our
simulators) with their timeouts and terminators.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pymeasure.adapters import Adapter
from pymeasure.instruments import Instrument

from controlroom.device.foreign.build import (
    ForeignCommand,
    ForeignController,
    ForeignDriverError,
    command_name,
    foreign_class,
)
from controlroom.device.synthesized import Argument
from controlroom.device.transports.base import Transport
from controlroom.device.validators import Validator, choices, in_range, plain_text

MAX_CHOICES = 1000
RANGES = {"strict_range", "truncated_range", "strict_discrete_range"}
SETS = {"strict_discrete_set", "truncated_discrete_set"}
# Raw I/O, under whatever class defines it: never served.
RAW_IO = {"write", "read", "ask", "query", "values", "binary_values", "write_binary_values"}
RAW_IO |= {"write_bytes", "read_bytes"}
FILE_WORDS = re.compile(r"file|path|dir|folder", re.IGNORECASE)
# Raw I/O (write, ask, read, values...) lives in these: never served as commands.
BASE_MODULES = (
    "pymeasure.instruments.instrument",
    "pymeasure.instruments.common_base",
    "pymeasure.instruments.generic_types",
    "pymeasure.instruments.channel",
)


class TransportAdapter(Adapter):  # type: ignore[misc]
    """PyMeasure's view of a controlroom transport: one line out, one line in."""

    def __init__(self, transport: Transport) -> None:
        super().__init__()
        self.transport = transport

    def _write(self, command: str, **kwargs: Any) -> None:
        self.transport.write(command)

    def _read(self, **kwargs: Any) -> str:
        return self.transport.read()

    def _write_bytes(self, content: bytes, **kwargs: Any) -> None:
        raise NotImplementedError("binary transfers are not served through a controlroom transport")

    def _read_bytes(self, count: int, break_on_termchar: bool, **kwargs: Any) -> bytes:
        raise NotImplementedError("binary transfers are not served through a controlroom transport")

    def close(self) -> None:
        self.transport.close()


def pymeasure_controller(
    cls: type,
    transport: Transport,
    options: Mapping[str, Any],
    housekeeping: list[str],
    name: str,
    *,
    methods: Sequence[str] = (),
) -> ForeignController:
    """The instrument ``cls`` on ``transport``, behind a controller of its commands."""
    if not (isinstance(cls, type) and issubclass(cls, Instrument)):
        raise ForeignDriverError(f"{cls!r} is not a PyMeasure Instrument")
    controller = foreign_class(name, pymeasure_commands(cls, methods), housekeeping)
    transport.connect()
    try:
        driver = cls(TransportAdapter(transport), **dict(options))
    except Exception as exc:
        transport.close()
        raise ForeignDriverError(f"{cls.__name__} could not be made: {exc}") from exc
    return controller(driver, close=driver.adapter.close)


def pymeasure_commands(cls: type, methods: Sequence[str] = ()) -> Iterator[ForeignCommand]:
    """The commands of PyMeasure instrument class ``cls``: its properties, then ``methods``.

    Only the methods named are served: a driver's methods may write files on
    the host or send raw strings, which a client must not reach unasked.
    """
    for attribute, prop in _properties(cls):
        doc = inspect.cleandoc(prop.__doc__ or "")
        if _readable(prop):
            yield ForeignCommand(
                command_name(attribute), _getter(attribute), (), Any, doc, access="read"
            )
        if _settable(prop):
            kind, checks = _checks(prop)
            text = (plain_text(),) if kind in (str, Any) else ()  # numbers need no such check
            value = Argument("value", kind, (*checks, *text))
            yield ForeignCommand(
                command_name("set", attribute), _setter(attribute), [value], None, doc
            )
    for attribute, method in _methods(cls, methods):
        yield ForeignCommand(
            command_name(attribute),
            _caller(attribute),
            _arguments(method),
            Any,
            inspect.cleandoc(method.__doc__ or ""),
        )


def _properties(cls: type) -> Iterator[tuple[str, property]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass in (object,):
            continue
        for attribute, value in vars(klass).items():
            if (
                isinstance(value, property)
                and not attribute.startswith("_")
                and attribute not in seen
            ):
                seen.add(attribute)
                yield attribute, value


def _methods(cls: type, wanted: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """The methods ``wanted`` that the driver's own classes define (not PyMeasure's bases)."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__.startswith(BASE_MODULES):
            continue
        found.update((n, v) for n, v in vars(klass).items() if inspect.isfunction(v))
    for attribute in wanted:
        method = found.get(attribute)
        if attribute.startswith("_") or attribute in RAW_IO or method is None:
            raise ForeignDriverError(
                f"{cls.__name__} has no method {attribute!r} that may be served"
            )
        risky = [p for p in inspect.signature(method).parameters if FILE_WORDS.search(p)]
        if risky:
            raise ForeignDriverError(f"{cls.__name__}.{attribute} takes a file name ({risky[0]})")
        yield attribute, method


def _default(function: Any, parameter: str) -> Any:
    if function is None:
        return None
    found = inspect.signature(function).parameters.get(parameter)
    return None if found is None else found.default


def _readable(prop: property) -> bool:
    if prop.fget is None:
        return False
    # A property made by `setting` keeps get_command None (reading it raises).
    return "get_command" not in inspect.signature(prop.fget).parameters or (
        _default(prop.fget, "get_command") is not None
    )


def _settable(prop: property) -> bool:
    if prop.fset is None:
        return False
    return _default(prop.fset, "set_command") is not None


def _checks(prop: property) -> tuple[Any, tuple[Validator, ...]]:
    """The value's type and checks, from the setter's validator and valid values."""
    validator = getattr(_default(prop.fset, "validator"), "__name__", "")
    values = _default(prop.fset, "values")
    if _default(prop.fset, "map_values") and isinstance(values, Mapping):
        values = list(values)
    numbers = isinstance(values, list | tuple | range) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )
    if validator in RANGES and numbers and len(values) == 2:
        return float, (in_range(min(values), max(values)),)
    if isinstance(values, range) and len(values) > MAX_CHOICES:
        return int, (in_range(values.start, values[-1]),)
    if (
        isinstance(values, list | tuple | range)
        and 0 < len(values) <= MAX_CHOICES
        and (validator in SETS or _default(prop.fset, "map_values"))
    ):
        kinds = {type(v) for v in values}
        return (kinds.pop() if len(kinds) == 1 else Any), (choices(*values),)
    return Any, ()


def _arguments(method: Any) -> list[Argument]:
    arguments = []
    for parameter in list(inspect.signature(method).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = parameter.annotation if isinstance(parameter.annotation, type) else Any
        text = (plain_text(),) if annotation in (str, Any) else ()
        arguments.append(Argument(parameter.name, annotation, text, parameter.default))
    return arguments


def _getter(attribute: str) -> Any:
    return lambda driver: getattr(driver, attribute)


def _setter(attribute: str) -> Any:
    return lambda driver, value: setattr(driver, attribute, value)


def _caller(attribute: str) -> Any:
    return lambda driver, **arguments: getattr(driver, attribute)(**arguments)
