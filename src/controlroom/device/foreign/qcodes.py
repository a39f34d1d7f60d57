"""A QCoDeS instrument served as a controlroom device.

QCoDeS builds an instrument's parameters when the driver is made, each with
its validator (``vals``), unit, label and docstring, on the instrument or on
its channels and submodules. Each becomes commands here: ``<path>()`` reads a
gettable parameter (``a_temperature`` for ``ls.A.temperature``) and
``set_<path>(value)`` sets a settable one, with ``Numbers``/``Ints`` ranges,
``Enum`` choices, ``Bool`` and ``Strings`` lengths and the unit in the schema.
Parameters about the connection itself (``timeout``) are not served.

The driver is a VISA instrument: a controlroom ``tcp://host:port`` transport
becomes the raw-socket resource ``TCPIP::host::port::SOCKET`` through
pyvisa-py, so QCoDeS drivers reach instruments on the lab network and our
simulators alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from qcodes.instrument import Instrument, InstrumentBase
from qcodes.parameters import ParameterBase
from qcodes.validators import Bool, Enum, Ints, Numbers, Strings, Validator

from controlroom.device.foreign.build import (
    ForeignCommand,
    ForeignController,
    ForeignDriverError,
    command_name,
    foreign_class,
)
from controlroom.device.synthesized import Argument
from controlroom.device.validators import choices, in_range, max_length, plain_text, unit

SKIPPED = {"timeout"}  # the VISA connection's, not the instrument's
MAX_DEPTH = 4  # instrument → channel list → channel → submodule


def visa_address(url: str) -> str:
    """``tcp://host:port`` as the VISA raw-socket resource QCoDeS opens."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        raise ForeignDriverError(
            f"a QCoDeS instrument needs a tcp://host:port transport, not {url!r}"
        )
    return f"TCPIP::{parts.hostname}::{parts.port}::SOCKET"


def qcodes_controller(
    cls: type, url: str, options: Mapping[str, Any], housekeeping: list[str], name: str
) -> ForeignController:
    """The QCoDeS instrument ``cls`` connected at ``url``, behind a controller of its parameters."""
    if not (isinstance(cls, type) and issubclass(cls, Instrument)):
        raise ForeignDriverError(f"{cls!r} is not a QCoDeS Instrument")
    settings = {"visalib": "@py", **dict(options)}
    make: Any = cls  # a VisaInstrument: made from a name and an address
    try:  # QCoDeS keeps one instrument per name in the process: a name it accepts
        driver = make(command_name(name), visa_address(url), **settings)
    except ForeignDriverError:
        raise
    except Exception as exc:
        raise ForeignDriverError(f"{cls.__name__} could not be made: {exc}") from exc
    try:
        controller = foreign_class(name, qcodes_commands(driver), housekeeping)
    except Exception:
        driver.close()
        raise
    return controller(driver, close=driver.close)


def qcodes_commands(driver: InstrumentBase) -> Iterator[ForeignCommand]:
    """A getter and a setter for each parameter of ``driver`` and of its submodules."""
    for path, parameter in _parameters(driver, (), 0):
        label, units = getattr(parameter, "label", ""), getattr(parameter, "unit", "")
        doc = (label or "") + (f" [{units}]" if units else "")
        if parameter.gettable:
            yield ForeignCommand(
                command_name(*path), _getter(parameter), (), Any, doc, access="read"
            )
        if parameter.settable:
            kind, checks = _checks(parameter)
            text = (plain_text(),) if kind in (str, Any) else ()  # numbers need no such check
            value = Argument("value", kind, (*checks, *text))
            yield ForeignCommand(command_name("set", *path), _setter(parameter), [value], None, doc)


def _parameters(
    module: InstrumentBase, path: tuple[str, ...], depth: int
) -> Iterator[tuple[tuple[str, ...], ParameterBase]]:
    for name, parameter in module.parameters.items():
        if name not in SKIPPED:
            yield (*path, name), parameter
    if depth >= MAX_DEPTH:
        return
    for name, submodule in module.submodules.items():
        if isinstance(submodule, InstrumentBase):  # a channel list repeats its channels
            yield from _parameters(submodule, (*path, name), depth + 1)


def _checks(parameter: ParameterBase) -> tuple[Any, tuple[Any, ...]]:
    found = _from_validator(parameter.vals)
    units = getattr(parameter, "unit", "")
    if units:
        return found[0], (*found[1], unit(str(units)))
    return found


def _from_validator(vals: Validator[Any] | None) -> tuple[Any, tuple[Any, ...]]:
    if isinstance(vals, Bool):
        return bool, ()
    if isinstance(vals, Ints):
        return int, _bounded(vals.min_value, vals.max_value)
    if isinstance(vals, Numbers):
        return float, _bounded(vals.min_value, vals.max_value)
    if isinstance(vals, Enum):
        values = sorted(vals.valid_values, key=repr)
        kinds = {type(v) for v in values}
        return (kinds.pop() if len(kinds) == 1 else Any), (choices(*values),)
    if isinstance(vals, Strings):
        longest = vals._max_length
        return str, (max_length(longest),) if longest < 10**9 else ()
    return Any, ()


def _bounded(low: float, high: float) -> tuple[Any, ...]:
    if math.isfinite(low) and math.isfinite(high):
        return (in_range(low, high),)
    return ()


def _getter(parameter: ParameterBase) -> Any:
    return lambda driver: parameter.get()


def _setter(parameter: ParameterBase) -> Any:
    return lambda driver, value: parameter.set(value)
