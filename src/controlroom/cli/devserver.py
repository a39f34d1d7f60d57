"""A device's control server, built and served: ``cs run`` and the lean entry point.

``python -m controlroom.cli.devserver NAME [--sim] [--endpoint ...]`` is what
the process manager runs for every control server: the same server as
``controlroom cs run NAME``, without importing the command-line interface
(Typer, Rich and every command group), so a control server starts sooner and
holds only what it serves. It reads the Settings the usual way
(``CONTROLROOM_LOCAL_SETTINGS``) and prints the same ready line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from controlroom.cli.assemble import attach_core_services
from controlroom.config.settings import device_settings, load_settings
from controlroom.device.serving import DeviceService
from controlroom.devices.factory import ALLOWED_PACKAGES, build_controller
from controlroom.rpc import ControlServer
from controlroom.rpc.process import serve_until_signalled

DEFAULT_ENDPOINT = "tcp://127.0.0.1:0"


def allowed_packages(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """Packages the Settings allow controllers, simulators and class// to come from."""
    security = settings.get("security") or {}
    return tuple(security.get("allowed_packages") or ALLOWED_PACKAGES)


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
        entry, simulate=sim, transport_url=transport, allowed=allowed_packages(settings)
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


def serve_device(
    settings: Mapping[str, Any],
    server: ControlServer,
    *,
    sim: bool,
    level: int,
    ready_stream: TextIO,
) -> None:
    """Attach the core services, serve until SIGINT, SIGTERM or ``quit``, detach."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    attached = attach_core_services(server, settings, server.name, level=level, simulated=sim)
    try:
        serve_until_signalled(server, ready_stream)
    finally:
        attached.stop()


def main(argv: list[str] | None = None) -> None:
    """Run one control server until SIGINT, SIGTERM or ``quit``; ready line first."""
    parser = argparse.ArgumentParser(description="A controlroom control server.")
    parser.add_argument("name", help="device name, as in the Settings")
    parser.add_argument("--sim", action="store_true", help="talk to the device's simulator")
    parser.add_argument("--transport", help="device URL (required with --sim)")
    parser.add_argument("--endpoint", help="command endpoint (default: Settings)")
    parser.add_argument("--pub-endpoint", help="publish endpoint (default: Settings)")
    parser.add_argument("--debug", action="store_true", help="debug logs")
    args = parser.parse_args(argv)
    settings = load_settings()
    server = build_device_server(
        settings,
        args.name,
        sim=args.sim,
        transport=args.transport,
        endpoint=args.endpoint,
        pub_endpoint=args.pub_endpoint,
    )
    level = logging.DEBUG if args.debug else logging.INFO
    serve_device(settings, server, sim=args.sim, level=level, ready_stream=sys.stdout)


if __name__ == "__main__":
    main()
