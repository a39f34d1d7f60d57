"""Building the node bridge's control server from the ``bridges.nodes`` Settings.

::

    bridges:
      nodes:
        host: 127.0.0.1          # where sensor nodes connect (TCP, one message per line)
        port: 7800
        commands: tcp://127.0.0.1:6800
        publish: tcp://127.0.0.1:6801
        ...                      # see controlroom.config.schema.nodes

The storage side (senders, queue sizes) is joined by the CLI, which may use
the core services; this module only builds what the bridge itself owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from controlroom.bridges.nodes.bridge import NodeBridge, NodeBridgeOptions
from controlroom.bridges.nodes.parsers import ParserRegistry
from controlroom.device.serving import DeviceService
from controlroom.rpc import ControlServer
from controlroom.rpc.endpoints import ServerEndpoints

NAME = "nodes"
DEFAULT_ENDPOINT = "tcp://127.0.0.1:0"
_OPTION_KEYS = (
    "host",
    "port",
    "max_line_bytes",
    "heartbeat_timeout_s",
    "stream_lines",
    "stream_period_s",
    "log_lines_per_s",
    "high_water_rows",
    "stall_timeout_s",
)


def section(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``bridges.nodes`` section (empty when the Settings have none)."""
    return (settings.get("bridges") or {}).get(NAME) or {}


def bridge_options(settings: Mapping[str, Any], **overrides: Any) -> NodeBridgeOptions:
    """The bridge's options from the Settings; ``overrides`` that are not None win."""
    given = {key: section(settings)[key] for key in _OPTION_KEYS if key in section(settings)}
    given.update({key: value for key, value in overrides.items() if value is not None})
    return NodeBridgeOptions(**given)


def build_bridge_server(
    settings: Mapping[str, Any],
    options: NodeBridgeOptions | None = None,
    parsers: ParserRegistry | None = None,
    **where: Unpack[ServerEndpoints],
) -> tuple[ControlServer, NodeBridge]:
    """The bridge and the control server that serves it (not started); ``options``
    default to the Settings' (:func:`bridge_options`)."""
    entry = section(settings)
    bridge = NodeBridge(options or bridge_options(settings), parsers)
    server = ControlServer(
        NAME,
        DeviceService(bridge),
        endpoint=where.get("endpoint") or str(entry.get("commands") or DEFAULT_ENDPOINT),
        pub_endpoint=where.get("pub_endpoint") or str(entry.get("publish") or DEFAULT_ENDPOINT),
        hk_period_s=float(entry.get("hk_period_s", 1.0)),
        status_period_s=float(entry.get("status_period_s", 0.5)),
    )
    bridge.attach(server)
    return server, bridge
