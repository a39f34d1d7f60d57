"""A core service's control server: its interface, served on its Settings' endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlroom.device import Interface
from controlroom.device.serving import DeviceService
from controlroom.rpc import ControlServer


def service_server(
    settings: Mapping[str, Any],
    name: str,
    interface: Interface,
    *,
    endpoint: str | None = None,
    pub_endpoint: str | None = None,
    status_period_s: float = 1.0,
    hk_period_s: float = 10.0,
    **options: Any,
) -> ControlServer:
    """The control server of core service ``name`` serving ``interface``, on the endpoints
    given, else on those of ``services.<name>``; ``options`` go to the server."""
    entry = settings["services"][name]
    server = ControlServer(
        name,
        DeviceService(interface),
        endpoint=endpoint or str(entry["commands"]),
        pub_endpoint=pub_endpoint or str(entry["publish"]),
        status_period_s=status_period_s,
        hk_period_s=hk_period_s,
        **options,
    )
    # The lab's own processes call core services all the time (heartbeats, rows): one
    # operator's lease would stop the lab.
    server.services.leases.leasable = False
    return server
