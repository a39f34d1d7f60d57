"""The bridges a Setup asks for: sensor-node bridge (and a simulated fleet), pipe server, MQTT.

Like devices, the Setup chooses and the Settings say how::

    bridges:
      nodes:                     # the sensor-node bridge of Settings bridges.nodes
        fleet: {nodes: 4, rate: 20, ctu: 1}   # plus a simulated node fleet (optional)
      pipe: {}                   # the pipe-command server of Settings bridges.pipe
      mqtt: {}                   # the MQTT bridge, run only if Settings bridges.mqtt.enabled

Every argv is built here from those values and the Settings; the Setup never
supplies a command. Unknown bridge names and keys are refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.hosts import endpoint_host
from controlroom.services.procman.processspec import ProcessSpec, setup_section

BRIDGE_MODULE = "controlroom.processes.bridge"
FLEET_MODULE = "controlroom.bridges.nodes.fleet"
BRIDGES = ("nodes", "pipe", "mqtt")
FLEET_KEYS = {"nodes": int, "rate": float, "ctu": int}
# What a bridge's clients use: they start once the core services run.
AFTER = ("registry", "logman", "confman", "storage")


def bridge_specs(
    settings: Mapping[str, Any], setup: Mapping[str, Any] | None, python: str
) -> list[ProcessSpec]:
    """The processes of the Setup's ``bridges`` section, in start order."""
    section = setup_section(setup, "bridges", "bridge")
    unknown = sorted(set(map(str, section)) - set(BRIDGES))
    if unknown:
        raise SpecError(f"the Setup names bridge {unknown[0]!r}; known: {', '.join(BRIDGES)}")
    configured = settings.get("bridges") or {}
    specs: list[ProcessSpec] = []
    if "nodes" in section:
        specs += _nodes(configured.get("nodes") or {}, _entry(section, "nodes"), python)
    if "pipe" in section:
        pipe = configured.get("pipe") or {}
        specs.append(_json_ready("pipe", python, str(pipe.get("host") or "127.0.0.1")))
    if "mqtt" in section and (configured.get("mqtt") or {}).get("enabled"):
        specs.append(_json_ready("mqtt", python, "localhost"))
    return specs


def _entry(section: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    entry = section.get(name) or {}
    if not isinstance(entry, Mapping):
        raise SpecError(f"bridges.{name} in the Setup must be a mapping, not {entry!r}")
    return entry


def _nodes(settings: Mapping[str, Any], entry: Mapping[str, Any], python: str) -> list[ProcessSpec]:
    commands = str(settings.get("commands") or "tcp://127.0.0.1:6800")
    bridge = ProcessSpec(
        "nodes",
        "bridge",
        (python, "-m", BRIDGE_MODULE, "nodes"),
        host=endpoint_host(commands),
        after=AFTER,
    )
    extra = sorted(set(map(str, entry)) - {"fleet"})
    if extra:
        raise SpecError(f"bridges.nodes.{extra[0]} in the Setup: only `fleet` is known")
    if "fleet" not in entry:
        return [bridge]
    host = str(settings.get("host") or "127.0.0.1")
    connect = "127.0.0.1" if host in ("0.0.0.0", "*", "") else host  # noqa: S104 (we compare)
    argv = [python, "-m", FLEET_MODULE, "--bridge", f"tcp://{connect}:{settings.get('port', 7800)}"]
    argv += _fleet_options(entry.get("fleet") or {})
    fleet = ProcessSpec(
        "nodes-sim", "simulator", tuple(argv), host=bridge.host, after=("nodes",), ready="json"
    )
    return [bridge, fleet]


def _fleet_options(fleet: Any) -> list[str]:
    if not isinstance(fleet, Mapping):
        raise SpecError(f"bridges.nodes.fleet in the Setup must be a mapping, not {fleet!r}")
    options: list[str] = []
    for key, value in fleet.items():
        kind = FLEET_KEYS.get(str(key))
        if kind is None:
            raise SpecError(
                f"bridges.nodes.fleet.{key} in the Setup: known keys {', '.join(FLEET_KEYS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SpecError(f"bridges.nodes.fleet.{key} must be a number >= 0, not {value!r}")
        options += [f"--{key}", str(kind(value))]
    return options


def _json_ready(name: str, python: str, host: str) -> ProcessSpec:
    argv = (python, "-m", BRIDGE_MODULE, name)
    return ProcessSpec(name, "bridge", argv, host=host, after=AFTER, ready="json")
