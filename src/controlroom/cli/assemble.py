"""Attaching the core services to a device's control server as ``cs run`` builds it.

Every attachment is non-blocking and survives its service being down: the
telemetry pipeline (names, calibration, limits) runs in process; housekeeping
and the command journal queue for the storage manager; metrics are served over
HTTP; the registry learns where the server listens; records go to the log
manager. This module sits in the CLI because it is where drivers (devices) and
core services (services) meet; neither may import the other.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.rpc import ControlServer
from controlroom.rpc.registration import attach_from_settings
from controlroom.services.logs.follow import install_from_settings
from controlroom.services.metrics import attach_metrics, metrics_address
from controlroom.services.storage.attach import attach_storage, follow_confman
from controlroom.services.storage.server import telemetry_dictionary
from controlroom.telemetry import TelemetryError, attach_telemetry

log = logging.getLogger(__name__)


@dataclass
class Attachments:
    """What was attached, so it can be detached (in reverse order) after serving."""

    stoppers: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            with contextlib.suppress(Exception):  # one failing stop must not skip the rest
                stop()
        self.stoppers.clear()


def attach_core_services(
    server: ControlServer, settings: Mapping[str, Any], name: str, *, level: int, simulated: bool
) -> Attachments:
    """Telemetry, storage, metrics, registry and central logs for device ``name``."""
    attached = Attachments()
    follower = follow_confman(settings)
    attached.stoppers.append(follower.stop)
    handler = install_from_settings(
        settings, server=name, level=level, obsid=lambda: follower.current().get("obsid")
    )
    attached.stoppers.append(handler.close)
    units = _attach_telemetry(server, settings, name)
    link = attach_storage(server, settings, follower.current)
    attached.stoppers.append(link.stop)
    host, port = metrics_address(settings, name)
    exporter = attach_metrics(server, host=host, port=port, units=units)
    attached.stoppers.append(exporter.stop)
    registration = attach_from_settings(
        server, settings, metadata={"kind": "device", "device": name, "simulated": simulated}
    )
    attached.stoppers.append(registration.stop)
    return attached


def _attach_telemetry(
    server: ControlServer, settings: Mapping[str, Any], name: str
) -> dict[str, str]:
    """Attach the dictionary's pipeline if it knows this device; return name → unit."""
    try:
        dictionary = telemetry_dictionary(settings)
        origin = name.upper()
        if origin not in dictionary.origins():
            log.info("%s: not in the telemetry dictionary; housekeeping kept as is", name)
            return {}
        attach_telemetry(server, dictionary, origin=origin, site=str(settings["site"]))
        return {p.name: p.unit for p in dictionary.parameters(origin) if p.unit}
    except TelemetryError as exc:
        log.warning("%s: telemetry dictionary not used: %s", name, exc)
        return {}
