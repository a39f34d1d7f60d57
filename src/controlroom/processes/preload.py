"""What the process factory imports before it forks the processes of a lab.

``FIRST`` is what nearly every process needs (the device server's and the
core services' entry points pull in ZeroMQ, msgpack, the RPC layer and the
device framework); the factory has it before its first fork. The drivers
and simulators the Settings name come ``later``: one at a time while the
factory has nothing else to do, so they never hold up a start. The panel is
not preloaded: there is one, and its import (over a second) would hold up
every fork behind it, where in the panel's own process it runs beside them.
Only controlroom's own modules are preloaded: importing a third-party driver
into the parent of every process is not ours to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIRST = (
    "controlroom.processes.device",
    "controlroom.processes.service",
    "controlroom.processes.bridge",
    "controlroom.processes.warm",  # last: loads the Settings, parsed once for every child
)
OURS = "controlroom."


def preload_modules(settings: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(first, later): the modules the process factory imports for ``settings``' lab."""
    later: list[str] = []
    for entry in (settings.get("devices") or {}).values():
        if not isinstance(entry, Mapping):
            continue
        controller = str(entry.get("controller") or "").partition(":")[0]
        if "table" in entry:  # built from its table: the table machinery is what it imports
            controller = "controlroom.device.table"
        simulator = str((entry.get("simulator") or {}).get("module") or "")
        later += [m for m in (controller, simulator) if _ours(m) and m not in later]
    return list(FIRST), later


def _ours(module: str) -> bool:
    return module.startswith(OURS) and all(part.isidentifier() for part in module.split("."))
