"""Building a controller from its Settings entry.

An entry names the controller class (``package.module:Class``) and, for
instruments, the transport URL of the real device; with ``simulate`` the
simulator's address is used instead. A line transport is opened on that URL
and given to the controller, unless the class declares ``takes_url = True``
(a device reached through something else than a line protocol, such as the
camera's DPU over its SpaceWire link): it then gets the URL itself,
``cls(url, **options)``. Only classes defined in
``DEFAULT_ALLOWED_PACKAGES`` (or the packages the Settings allow instead) may be
named, under the one policy of :mod:`controlroom.config.importing`, so a
settings file cannot be used to import arbitrary code.

An entry may name a command table instead (``table: keithley2000``): the
controller class is then built from that YAML file
(:mod:`controlroom.device.table`), found by name among the table folders or
by a path inside one of them. Or it names a PyMeasure or QCoDeS driver class
(``pymeasure: pymeasure.instruments.keithley:Keithley2000``), defined under
that library's instruments package or an allowed one, served through
:mod:`controlroom.device.foreign` with the readings ``housekeeping`` lists.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES, NamedImportError, import_class
from controlroom.device import DeviceError, Interface
from controlroom.device.foreign.build import ForeignDriverError
from controlroom.device.table import TableError, controller_class, load_table
from controlroom.device.transports import open_transport
from controlroom.devices.tables import PACKAGED_TABLES


class DeviceConfigError(DeviceError):
    """A device entry in the Settings cannot be turned into a controller."""


def import_object(path: str, allowed: Iterable[str] = DEFAULT_ALLOWED_PACKAGES) -> type:
    """The class ``package.module:Class`` names, defined in an allowed package."""
    try:
        return import_class(path, allowed)
    except NamedImportError as exc:
        raise DeviceConfigError(str(exc)) from None


def simulator_url(entry: Mapping[str, Any]) -> str:
    sim = entry.get("simulator") or {}
    return f"tcp://{sim.get('host', '127.0.0.1')}:{sim.get('port')}"


DRIVER_KEYS = ("controller", "table", "pymeasure", "qcodes")
# Where a foreign driver class may be defined, besides the allowed packages.
FOREIGN_PACKAGES = {"pymeasure": "pymeasure.instruments", "qcodes": "qcodes.instrument_drivers"}
EXTRAS = {"pymeasure": "controlroom[pymeasure]", "qcodes": "controlroom[qcodes]"}


def driver_key(entry: Mapping[str, Any]) -> str:
    """Which of controller, table, pymeasure or qcodes the entry names its driver by."""
    given = [key for key in DRIVER_KEYS if entry.get(key) is not None]
    if len(given) != 1:
        raise DeviceConfigError(
            f"a device entry names one of {', '.join(DRIVER_KEYS)}, not {given}"
        )
    return given[0]


def foreign_driver(entry: Mapping[str, Any], key: str, allowed: Iterable[str]) -> type:
    """The PyMeasure or QCoDeS class ``entry[key]`` names, if the library is installed."""
    try:
        importlib.import_module(f"controlroom.device.foreign.{key}")
    except ImportError:
        raise DeviceConfigError(f"{key} is not installed: pip install '{EXTRAS[key]}'") from None
    return import_object(str(entry[key]), (*allowed, FOREIGN_PACKAGES[key]))


def interface_class(
    entry: Mapping[str, Any],
    allowed: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
    tables: Iterable[Path] = (PACKAGED_TABLES,),
) -> type[Interface]:
    """The class of the controller ``entry`` names: an allowed class, or one from a table.

    For a foreign driver, the driver class itself (its commands are known once it runs).
    """
    key = driver_key(entry)
    if key in FOREIGN_PACKAGES:
        return foreign_driver(entry, key, allowed)
    if key == "table":
        try:
            return controller_class(load_table(str(entry["table"]), tables))
        except TableError as exc:
            raise DeviceConfigError(str(exc)) from None
    cls = import_object(str(entry.get("controller", "")), allowed)
    if not (isinstance(cls, type) and issubclass(cls, Interface)):
        raise DeviceConfigError(f"{entry.get('controller')!r} is not a device interface class")
    return cls


def build_controller(
    entry: Mapping[str, Any],
    *,
    simulate: bool = False,
    transport_url: str | None = None,
    allowed: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
    tables: Iterable[Path] = (PACKAGED_TABLES,),
    name: str = "device",
) -> Interface:
    """The controller described by ``entry``, not yet connected (a foreign driver is)."""
    cls = interface_class(entry, allowed, tables)
    options = dict(entry.get("options") or {})
    url = transport_url or (simulator_url(entry) if simulate else entry.get("transport"))
    key = driver_key(entry)
    if key in FOREIGN_PACKAGES:
        return _foreign(entry, key, cls, str(url or ""), name)
    takes_url = getattr(cls, "takes_url", False) is True
    if "transport" not in entry and "simulator" not in entry and transport_url is None:
        if takes_url:
            raise DeviceConfigError(f"{cls.__name__} needs a transport URL")
        return cls(**options)  # an in-process device such as the dummy
    if not url:
        raise DeviceConfigError("the device entry has no transport URL")
    if takes_url:
        return cls(str(url), **options)  # type: ignore[call-arg]
    defaults = getattr(cls, "transport_defaults", {})
    options_for_transport = {**defaults, **dict(entry.get("transport_options") or {})}
    transport = open_transport(str(url), **options_for_transport)
    return cls(transport, **options)  # type: ignore[call-arg]


def _foreign(entry: Mapping[str, Any], key: str, cls: type, url: str, name: str) -> Interface:
    if not url:
        raise DeviceConfigError("the device entry has no transport URL")
    options = dict(entry.get("options") or {})
    readings = [str(reading) for reading in entry.get("housekeeping") or ()]
    try:
        if key == "qcodes":
            from controlroom.device.foreign.qcodes import qcodes_controller

            return qcodes_controller(cls, url, options, readings, name)
        from controlroom.device.foreign.pymeasure import pymeasure_controller

        transport = open_transport(url, **dict(entry.get("transport_options") or {}))
        methods = [str(method) for method in entry.get("methods") or ()]
        return pymeasure_controller(cls, transport, options, readings, name, methods=methods)
    except ForeignDriverError as exc:
        raise DeviceConfigError(str(exc)) from None
