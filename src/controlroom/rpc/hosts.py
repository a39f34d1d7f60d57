"""Which host of the Settings this process runs on: one answer for every process of a host.

The Settings' ``hosts`` section maps host names to addresses::

    hosts:
      server: 10.0.0.1    # registry, configuration manager, panel...
      bench: 10.0.0.2     # the control servers of the bench equipment

:func:`this_host` says which of those names is ours: the one ``CONTROLROOM_HOST``
names (``controlroom up --host NAME`` sets it, every child inherits it), else
the entry whose address is one of this machine's (an interface address or its
name; a loopback address matches every machine, so it counts only when no
other entry does), else the entry named after this machine, else ``default``.
The machine's name alone is not enough: containers, network namespaces and
cloned machines often share one.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from typing import Any

import psutil

HOST_ENV = "CONTROLROOM_HOST"
DEFAULT_HOST = "default"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "*", "::", "[::]"})  # noqa: S104 (we detect, not bind)
_IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class UnknownHost(ValueError):
    """A host name that the Settings' ``hosts`` section does not list."""


def settings_hosts(settings: Mapping[str, Any]) -> dict[str, str]:
    """The Settings' ``hosts``: name → address, in the order the Settings give them."""
    hosts: Mapping[str, Any] = settings.get("hosts") or {}
    return {str(name): str(address) for name, address in hosts.items() if address}


def local_names(hostname: str | None = None) -> frozenset[str]:
    """Every name and address of this machine: loopback, host name, interface addresses."""
    me = hostname or socket.gethostname()
    names = {*LOOPBACK_NAMES, *WILDCARD_HOSTS, me, me.split(".")[0]}
    for addresses in psutil.net_if_addrs().values():
        names.update(a.address.split("%")[0] for a in addresses if a.family in _IP_FAMILIES)
    return frozenset(name.lower() for name in names)


def is_loopback(address: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    text = address.strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:  # a host name
        return False


def is_unplaced(address: str) -> bool:
    """True for an address that names no machine: loopback or a wildcard."""
    return address.lower() in WILDCARD_HOSTS or is_loopback(address)


def this_host(
    settings: Mapping[str, Any],
    names: Iterable[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The name in the Settings' ``hosts`` of the host this process runs on.

    ``names`` are this machine's names and addresses (default: :func:`local_names`);
    ``environ`` the environment to read ``CONTROLROOM_HOST`` from (default: ours).
    """
    chosen = (os.environ if environ is None else environ).get(HOST_ENV, "")
    if chosen:
        return checked_host(settings, chosen, HOST_ENV)
    return host_named_by(settings, local_names() if names is None else names)


def host_named_by(settings: Mapping[str, Any], names: Iterable[str]) -> str:
    """The host whose address (else whose name) is among ``names``; else ``default``."""
    known = {name.lower() for name in names}
    hosts = settings_hosts(settings)
    loopback = None
    for name, address in hosts.items():
        if not _names_machine(address, known):
            continue
        if not is_loopback(address):
            return name
        if loopback is None or name == DEFAULT_HOST:
            loopback = name  # every machine has loopback: the last resort but one
    by_name = next((name for name in hosts if name.lower() in known), None)
    return by_name or loopback or DEFAULT_HOST


def _names_machine(address: str, known: set[str]) -> bool:
    text = address.lower()
    if text in known:
        return True
    short = text.split(".")[0]  # lab-pc.example.org is lab-pc; 10.0.0.1 is not "10"
    return not _is_ip(text) and short in known


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def checked_host(settings: Mapping[str, Any], name: str, where: str) -> str:
    """``name`` if the Settings' ``hosts`` list it; else :class:`UnknownHost` saying ``where``."""
    hosts = settings_hosts(settings)
    if name in hosts:
        return name
    known = ", ".join(hosts) or "none"
    raise UnknownHost(f"{where}: {name!r} is not a host of the Settings' `hosts` (known: {known})")


def host_address(settings: Mapping[str, Any], name: str) -> str | None:
    """The address the Settings give host ``name``; None if they do not list it."""
    return settings_hosts(settings).get(name)
