"""A device's control server, built from the Settings, linked to the core services, served.

``python -m controlroom.processes.device NAME [--sim] [--transport URL] [--endpoint ...]``
is what the process manager runs for every control server, and ``controlroom
cs run NAME`` serves the same in the foreground. It reads the Settings the
usual way (``CONTROLROOM_LOCAL_SETTINGS``) and prints the ready line once it
serves. Besides the links every process has (:mod:`.links`), a device's
server sends its housekeeping and journal to the storage manager and runs the
telemetry dictionary's pipeline (names, calibration, limits) when the
dictionary knows it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from typing import Any, TextIO

from controlroom.config.importing import DEFAULT_ALLOWED_PACKAGES
from controlroom.config.settings import device_settings, load_settings
from controlroom.device.serving import DeviceService
from controlroom.devices.factory import build_controller
from controlroom.devices.tables import table_folders
from controlroom.processes.entry import (
    common_options,
    configure_logging,
    failures_in_one_line,
    log_level,
    ready_stream,
)
from controlroom.processes.links import Links, context_links
from controlroom.rpc import ControlServer
from controlroom.rpc.curve import secure_process
from controlroom.rpc.process import serve_until_signalled
from controlroom.rpc.registration import attach_from_settings
from controlroom.services.metrics import attach_metrics, metrics_address
from controlroom.services.storage.attach import attach_storage
from controlroom.services.storage.server import telemetry_dictionary
from controlroom.telemetry import TelemetryError, attach_telemetry

DEFAULT_ENDPOINT = "tcp://127.0.0.1:0"

log = logging.getLogger(__name__)


def allowed_packages(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Packages the Settings allow controllers, simulators and class// to come from."""
    security = settings.get("security") or {}
    return tuple(security.get("allowed_packages") or DEFAULT_ALLOWED_PACKAGES)


def build_device_server(
    settings: Mapping[str, Any],
    name: str,
    *,
    sim: bool = False,
    transport: str | None = None,
    endpoint: str | None = None,
    pub_endpoint: str | None = None,
) -> ControlServer:
    """The control server of device ``name`` as the Settings describe it."""
    entry = device_settings(settings, name)
    defaults = settings.get("defaults") or {}
    controller = build_controller(
        entry,
        simulate=sim,
        transport_url=transport,
        allowed=allowed_packages(settings),
        tables=table_folders(settings),
        name=name,
    )
    return ControlServer(
        name,
        DeviceService(controller),
        endpoint=endpoint or str(entry.get("commands") or DEFAULT_ENDPOINT),
        pub_endpoint=pub_endpoint or str(entry.get("publish") or DEFAULT_ENDPOINT),
        hk_period_s=float(entry.get("hk_period_s", defaults.get("hk_period_s", 1.0))),
        status_period_s=float(entry.get("status_period_s", defaults.get("status_period_s", 0.5))),
        spin_us=float(defaults.get("spin_us", 100.0)),
    )


def device_links(
    server: ControlServer, settings: Mapping[str, Any], *, level: int, simulated: bool
) -> Links:
    """Central logs, telemetry, storage, metrics and registration for a device's server."""
    name = server.name
    attached, follower = context_links(server, settings, level=level)
    with attached.all_or_none():
        units = _attach_telemetry(server, settings)
        attached.add(attach_storage(server, settings, follower.current).stop)
        host, port = metrics_address(settings, name)
        attached.add(attach_metrics(server, host=host, port=port, units=units).stop)
        metadata = {"kind": "device", "device": name, "simulated": simulated}
        attached.add(attach_from_settings(server, settings, metadata=metadata).stop)
    return attached


def _attach_telemetry(server: ControlServer, settings: Mapping[str, Any]) -> dict[str, str]:
    """Attach the dictionary's pipeline if it knows this device; return name → unit."""
    try:
        dictionary = telemetry_dictionary(settings)
        origin = server.name.upper()
        if origin not in dictionary.origins():
            log.info("%s: not in the telemetry dictionary; housekeeping kept as is", server.name)
            return {}
        attach_telemetry(server, dictionary, origin=origin, site=str(settings["site"]))
        return {p.name: p.unit for p in dictionary.parameters(origin) if p.unit}
    except TelemetryError as exc:
        log.warning("%s: telemetry dictionary not used: %s", server.name, exc)
        return {}


def serve_device(
    settings: Mapping[str, Any],
    server: ControlServer,
    *,
    sim: bool,
    level: int,
    ready: TextIO,
) -> None:
    """Link the core services, serve until SIGINT, SIGTERM or ``quit``, unlink."""
    configure_logging(level)
    with device_links(server, settings, level=level, simulated=sim):
        serve_until_signalled(server, ready)


def main(argv: list[str] | None = None) -> None:
    """Run one control server until SIGINT, SIGTERM or ``quit``; ready line first."""
    parser = argparse.ArgumentParser(
        description="A controlroom control server.", parents=[common_options()]
    )
    parser.add_argument("name", help="device name, as in the Settings")
    parser.add_argument("--sim", action="store_true", help="talk to the device's simulator")
    parser.add_argument("--transport", help="device URL (required with --sim)")
    parser.add_argument("--endpoint", help="command endpoint (default: Settings)")
    parser.add_argument("--pub-endpoint", help="publish endpoint (default: Settings)")
    args = parser.parse_args(argv)
    with failures_in_one_line(args.debug):
        settings = load_settings()
        secure_process(settings)
        server = build_device_server(
            settings,
            args.name,
            sim=args.sim,
            transport=args.transport,
            endpoint=args.endpoint,
            pub_endpoint=args.pub_endpoint,
        )
        stream = ready_stream(args.handoff_stdout)
        serve_device(settings, server, sim=args.sim, level=log_level(args.debug), ready=stream)


if __name__ == "__main__":
    main()
