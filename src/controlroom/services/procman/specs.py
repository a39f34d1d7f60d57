"""The processes of an installation, derived from the Settings and the current Setup only.

Core services (registry, logman, confman, storage, scheduler, scenarios) come from the
Settings' ``services`` section: each runs on the host its ``host`` key or its
``commands`` endpoint names; the web panel from the ``web`` section (its host
and port). Devices come from the Setup's ``devices`` section; every key must
be a device of the Settings (``devices.<name>``), which say how to run it::

    devices:
      tempctl:
        simulated: true     # run the Settings' simulator and `cs run tempctl --sim`
        host: localhost     # where the control server (and simulator) run
      dummy: {}             # the real device (here an in-process one)

``simulated`` defaults to false; ``host`` (a key of the Settings' ``hosts``, or
an address) to the device's Settings ``host``, else to the host of its
``commands`` endpoint. Each host runs its own share (:func:`.hosts.local_specs`).
Other keys in an entry (calibrations...) are left alone, but one that looks
like a misspelt ``simulated`` or ``host`` is refused.

The argv of every process is built here from these values: a Setup chooses
among the devices the Settings describe, it never supplies a command.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.config.settings import device_settings
from controlroom.services.procman.bridgespecs import bridge_specs
from controlroom.services.procman.errors import SpecError
from controlroom.services.procman.hosts import endpoint_host, service_host
from controlroom.services.procman.processspec import (
    WILDCARD_HOSTS,
    Link,
    Pin,
    ProcessSpec,
    setup_section,
)

# The entries of the composition root: each process as `controlroom <group> run` serves it,
# without the command-line interface.
SERVICE_MODULE = "controlroom.processes.service"
DEVICE_MODULE = "controlroom.processes.device"
SERVICES = ("registry", "logman", "confman", "storage", "scheduler", "scenarios")  # start order
# Registering and logging never wait for the registry or the log manager, so the
# services start together; the scheduler reads its jobs from the current Setup.
SERVICE_AFTER: dict[str, tuple[str, ...]] = {"scheduler": ("confman",), "scenarios": ("confman",)}
DEVICES_AFTER = ("registry", "logman", "confman", "storage")  # what a control server talks to
SIMULATOR_SUFFIX = "-sim"
WEB = "web"
ENDPOINT_OPTIONS = {
    "commands": "--endpoint",
    "publish": "--pub-endpoint",
    "records": "--records-endpoint",
}
SETUP_FIELDS = ("simulated", "host")
ANY_PORT = "tcp://127.0.0.1:0"


@dataclass(frozen=True)
class SetupDevice:
    """One entry of the Setup's ``devices``: whether it is simulated and where it runs."""

    name: str
    simulated: bool = False
    host: str | None = None


def process_specs(
    settings: Mapping[str, Any], setup: Mapping[str, Any] | None = None, *, python: str = ""
) -> list[ProcessSpec]:
    """Every process of the installation (all hosts), core services first."""
    interpreter = python or sys.executable
    specs = service_specs(settings, interpreter)
    for device in setup_devices(setup, settings):
        specs.extend(device_specs(settings, device, interpreter))
    specs.extend(bridge_specs(settings, setup, interpreter))
    if (settings.get("web") or {}).get("enabled", True):
        specs.append(web_spec(settings, interpreter))
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SpecError(f"two processes would share the name {duplicates[0]!r}")
    return specs


def service_specs(settings: Mapping[str, Any], python: str) -> list[ProcessSpec]:
    """The core services, from the Settings' ``services`` section."""
    specs = []
    for name in SERVICES:
        entry = settings["services"][name]
        endpoints = {role: str(entry[role]) for role in ENDPOINT_OPTIONS if entry.get(role)}
        specs.append(
            ProcessSpec(
                name,
                "service",
                (python, "-m", SERVICE_MODULE, name),
                host=service_host(settings, name),
                after=SERVICE_AFTER.get(name, ()),
                pins=_pins(endpoints),
            )
        )
    return specs


def web_spec(settings: Mapping[str, Any], python: str) -> ProcessSpec:
    """The web panel, on the host and port of the Settings' ``web`` section.

    It needs no other process to start: it finds the servers as they come.
    """
    web = settings.get("web") or {}
    host, port = str(web.get("host") or "127.0.0.1"), int(web.get("port") or 0)
    argv = (python, "-m", "controlroom.web", "--port", str(port))  # the panel without the CLI
    return ProcessSpec(
        WEB,
        "web",
        argv,
        host=host,
        ready="web",
        pins=() if port else (Pin("http", "--port"),),
    )


def device_specs(
    settings: Mapping[str, Any], device: SetupDevice, python: str
) -> list[ProcessSpec]:
    """The control server of ``device`` and, when simulated, its simulator."""
    entry = device_settings(settings, device.name)
    endpoints = {r: str(entry.get(r) or ANY_PORT) for r in ("commands", "publish")}
    host = device.host or str(entry.get("host") or "") or endpoint_host(endpoints["commands"])
    argv = [python, "-m", DEVICE_MODULE, device.name]
    after: tuple[str, ...] = DEVICES_AFTER
    link, specs = None, []
    if device.simulated:
        argv.append("--sim")
        sim = entry.get("simulator")
        if sim:
            simulator = simulator_spec(settings, device.name, sim, host, python)
            specs.append(simulator)
            after += (simulator.name,)
            port = int(sim.get("port") or 0)
            if port:
                argv += ["--transport", f"tcp://{_connect_host(sim)}:{port}"]
            else:  # known once the simulator has bound its port
                link = Link(simulator.name, "transport", "--transport")
        elif entry.get("transport"):
            raise SpecError(f"{device.name} is simulated in the Setup but has no simulator")
    server = ProcessSpec(
        device.name,
        "device",
        tuple(argv),
        host=host,
        after=after,
        pins=_pins(endpoints),
        link=link,
        simulated=device.simulated,
    )
    return [*specs, server]


def simulator_spec(
    settings: Mapping[str, Any], name: str, sim: Mapping[str, Any], host: str, python: str
) -> ProcessSpec:
    """``python -m <simulator.module> [simulator.args] --host H --port P`` of device ``name``."""
    module = str(sim.get("module") or "")
    allowed = (settings.get("security") or {}).get("allowed_packages") or ()
    # The same rule as for controllers: Settings may only name modules of allowed packages.
    if not all(part.isidentifier() for part in module.split(".")) or not any(
        module == p or module.startswith(p + ".") for p in allowed
    ):
        raise SpecError(f"simulator module {module!r} of {name} is not in {', '.join(allowed)}")
    port = int(sim.get("port") or 0)
    argv = (
        python,
        "-m",
        module,
        *(str(arg) for arg in sim.get("args") or ()),
        "--host",
        str(sim.get("host") or "127.0.0.1"),
        "--port",
        str(port),
    )
    return ProcessSpec(
        name + SIMULATOR_SUFFIX,
        "simulator",
        argv,
        host=host,
        ready="simulator",
        pins=() if port else (Pin("transport", "--port"),),
        simulated=True,
    )


def setup_devices(
    setup: Mapping[str, Any] | None, settings: Mapping[str, Any]
) -> list[SetupDevice]:
    """The Setup's ``devices`` section, checked against the Settings."""
    section = setup_section(setup, "devices", "device")
    known = settings.get("devices") or {}
    return [_setup_device(str(name), entry, known) for name, entry in section.items()]


def _setup_device(name: str, entry: Any, known: Mapping[str, Any]) -> SetupDevice:
    if name not in known:
        names = ", ".join(sorted(known)) or "none"
        raise SpecError(f"the Setup names device {name!r}, not in the Settings (known: {names})")
    entry = entry if entry is not None else {}
    if not isinstance(entry, Mapping):
        raise SpecError(f"devices.{name} in the Setup must be a mapping, not {entry!r}")
    for key in map(str, entry):
        guess = difflib.get_close_matches(key, SETUP_FIELDS, n=1, cutoff=0.7)
        if guess and key not in SETUP_FIELDS:
            raise SpecError(f"devices.{name}.{key} in the Setup: did you mean {guess[0]!r}?")
    simulated, host = entry.get("simulated", False), entry.get("host")
    if not isinstance(simulated, bool):
        raise SpecError(f"devices.{name}.simulated in the Setup must be true or false")
    if host is not None and (not isinstance(host, str) or not host):
        raise SpecError(f"devices.{name}.host in the Setup must be a host name")
    return SetupDevice(name, simulated, host)


def _pins(endpoints: Mapping[str, str]) -> tuple[Pin, ...]:
    """Pins for the endpoints left on port 0: restarts come back on the port first bound."""
    return tuple(
        Pin(role, ENDPOINT_OPTIONS[role], address[:-1])
        for role, address in endpoints.items()
        if address.startswith("tcp://") and address.endswith(":0")
    )


def _connect_host(sim: Mapping[str, Any]) -> str:
    host = str(sim.get("host") or "127.0.0.1")
    return "127.0.0.1" if host in WILDCARD_HOSTS else host
