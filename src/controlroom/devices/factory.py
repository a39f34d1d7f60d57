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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES, NamedImportError, import_class
from controlroom.device import DeviceError, Interface
from controlroom.device.transports import open_transport


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


def build_controller(
    entry: Mapping[str, Any],
    *,
    simulate: bool = False,
    transport_url: str | None = None,
    allowed: Iterable[str] = DEFAULT_ALLOWED_PACKAGES,
) -> Interface:
    """The controller described by ``entry``, not yet connected."""
    cls = import_object(str(entry.get("controller", "")), allowed)
    if not (isinstance(cls, type) and issubclass(cls, Interface)):
        raise DeviceConfigError(f"{entry.get('controller')!r} is not a device interface class")
    options = dict(entry.get("options") or {})
    url = transport_url or (simulator_url(entry) if simulate else entry.get("transport"))
    takes_url = getattr(cls, "takes_url", False) is True
    if "transport" not in entry and "simulator" not in entry and transport_url is None:
        if takes_url:
            raise DeviceConfigError(f"{entry.get('controller')} needs a transport URL")
        return cls(**options)  # an in-process device such as the dummy
    if not url:
        raise DeviceConfigError("the device entry has no transport URL")
    if takes_url:
        return cls(str(url), **options)  # type: ignore[call-arg]
    defaults = getattr(cls, "transport_defaults", {})
    options_for_transport = {**defaults, **dict(entry.get("transport_options") or {})}
    transport = open_transport(str(url), **options_for_transport)
    return cls(transport, **options)  # type: ignore[call-arg]
