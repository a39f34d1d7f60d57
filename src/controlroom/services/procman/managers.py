"""Every host's process manager: its registry name, and where each one answers.

Each host runs a process manager of its own, registered as ``procman@<host>``
(the host's name in the Settings' ``hosts``), so one registry knows them all
and ``controlroom status`` can ask each for its processes. Locally it is
still just ``procman``: its Settings entry, its state file, its CLI group.
The Settings give one ``services.procman`` endpoint for all of them: a host
binds its port on its own address when that endpoint names another host's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.hosts import host_address, is_loopback, is_unplaced, local_names
from controlroom.rpc.resolve import registry_endpoint_of

PROCMAN = "procman"
SEPARATOR = "@"


def procman_name(host: str) -> str:
    """The registry name of host ``host``'s process manager."""
    return f"{PROCMAN}{SEPARATOR}{host}"


def procman_host(name: str) -> str | None:
    """The host of process manager ``name`` (``procman@bench`` → ``bench``); None for
    any other name."""
    prefix, separator, host = name.partition(SEPARATOR)
    return host if prefix == PROCMAN and separator and host else None


def own_endpoint(settings: Mapping[str, Any], endpoint: str, host: str) -> str:
    """``endpoint`` (of ``services.procman``) as host ``host`` binds it: on its own
    address when the endpoint names another host's (or a machine that is not this)."""
    scheme, _, rest = endpoint.partition("://")
    address, _, port = rest.rpartition(":")
    mine = host_address(settings, host)
    if scheme != "tcp" or mine is None or is_unplaced(address) or address == mine:
        return endpoint
    hosts: Mapping[str, Any] = settings.get("hosts") or {}
    named = [name for name, a in hosts.items() if str(a).lower() == address.lower()]
    if host in named or (not named and address.lower() in local_names()):
        return endpoint
    return f"tcp://{mine}:{port}"


def procman_entry(settings: Mapping[str, Any], host: str) -> dict[str, Any]:
    """``services.procman`` of the Settings with the endpoints host ``host`` binds."""
    entry = settings["services"][PROCMAN]
    return {
        **entry,
        "commands": own_endpoint(settings, str(entry["commands"]), host),
        "publish": own_endpoint(settings, str(entry["publish"]), host),
    }


def registry_entries(settings: Mapping[str, Any], *, timeout: float) -> list[dict[str, Any]] | None:
    """Every entry of the registry; None if it does not answer within ``timeout``."""
    try:
        with Proxy(registry_endpoint_of(settings), name="registry", timeout=timeout) as registry:
            entries = registry.request("list_services")
    except RpcError:
        return None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def managers_of(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Host → the registry entry of its process manager, among ``entries``."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        host = procman_host(str(entry.get("name") or ""))
        if host is not None:
            found[host] = entry
    return found


def reachable_from(settings: Mapping[str, Any], endpoint: str, host: str, me: str) -> bool:
    """Whether ``endpoint``, announced by a process of ``host``, can be reached from ``me``.

    A loopback address reaches the machine it is used on: another host's
    loopback endpoint would reach ours instead, unless the Settings put that
    host on loopback too (hosts sharing this machine).
    """
    if host == me:
        return True
    scheme, _, rest = endpoint.partition("://")
    shares_machine = is_loopback(host_address(settings, host) or "")
    if scheme != "tcp":  # ipc and inproc reach processes of this machine only
        return shares_machine
    return shares_machine or not is_loopback(rest.rpartition(":")[0])
