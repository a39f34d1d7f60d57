"""``controlroom nodes`` and ``controlroom node``: the sensor-node bridge.

``nodes run`` serves the bridge (``bridges.nodes`` in the Settings) with the
core services attached the way ``cs run`` attaches them to a device: central
logs, the registry, metrics, its per-node counters as housekeeping, and its
data rows (one per STATUS or parsed DATA line) through a storage sender of
their own, with a queue sized for the node fleet. This module is where the
bridge (bridges) and the storage sender (services) meet; neither imports the
other. ``nodes list``, ``node show`` and ``node send`` ask the running bridge.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from controlroom.cli import render
from controlroom.cli.assemble import Attachments
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.rpc.endpoints import connectable

if TYPE_CHECKING:
    from controlroom.bridges.nodes import NodeBridge
    from controlroom.device.proxy import DeviceProxy
    from controlroom.rpc import ControlServer

FLUSH_TIMEOUT_S = 30.0  # rows still queued for storage when the bridge stops
DATA_INFO_KEY = "storage_rows"
LIST_COLUMNS = (
    "node",
    "type",
    "address",
    "connected",
    "silent",
    "heartbeat_age_s",
    "lines",
    "data",
    "malformed",
    "stored",
)

nodes_app = typer.Typer(help="The sensor-node bridge: run it, list the nodes.")
node_app = typer.Typer(help="One sensor node behind the bridge: show it, send it a line.")


def attach_bridge_services(
    server: ControlServer, bridge: NodeBridge, settings: Mapping[str, Any], *, level: int
) -> Attachments:
    """Logs, storage (HK and data rows) and metrics for the node bridge."""
    from controlroom.services.logs.follow import install_from_settings
    from controlroom.services.metrics import attach_metrics
    from controlroom.services.storage.attach import attach_storage, follow_confman
    from controlroom.services.storage.options import sender_options, storage_endpoint
    from controlroom.services.storage.sender import SenderOptions, StorageSender

    entry = (settings.get("bridges") or {}).get("nodes") or {}
    origin = str(entry.get("origin") or "NODES")
    attached = Attachments()
    follower = follow_confman(settings)
    attached.stoppers.append(follower.stop)
    handler = install_from_settings(
        settings, server=server.name, level=level, obsid=lambda: follower.current().get("obsid")
    )
    attached.stoppers.append(handler.close)
    link = attach_storage(server, settings, follower.current, origin=origin)
    attached.stoppers.append(link.stop)
    shared = sender_options(settings)
    options = SenderOptions(
        queue_rows=int(entry.get("queue_rows", 200_000)),
        batch_rows=int(entry.get("batch_rows", 5_000)),
        batch_delay_s=shared.batch_delay_s,
        timeout_s=shared.timeout_s,
    )
    rows = StorageSender(
        storage_endpoint(settings), f"{origin}_DATA", context=follower.current, options=options
    ).start()
    attached.stoppers.append(lambda: rows.stop(FLUSH_TIMEOUT_S))
    bridge.add_sink(
        lambda record: rows.put(record.values, record.time, f"{origin}_{record.kind}"),
        backlog=lambda: int(rows.counters()["queued"]),
        drained=lambda: rows.sent + rows.refused,
        reachable=lambda: bool(rows.counters()["connected"]),
    )
    server.hooks.hk_sinks.append(
        lambda _: server.extra_info.update({DATA_INFO_KEY: rows.counters()})
    )
    host = str((settings.get("defaults") or {}).get("metrics_host", "127.0.0.1"))
    attached.stoppers.append(attach_metrics(server, host=host, port=0).stop)
    return attached


def register_bridge(
    server: ControlServer, bridge: NodeBridge, settings: Mapping[str, Any]
) -> Callable[[], None]:
    """Keep the bridge in the registry, with where nodes connect; returns the stopper.

    Called once the bridge serves, so a port the OS picked is the one registered.
    """
    from controlroom.rpc.registration import attach_from_settings

    metadata = {"kind": "bridge", "bridge": "nodes", "nodes": bridge.nodes_url}
    return attach_from_settings(server, settings, metadata=metadata).stop


def serve_bridge(
    server: ControlServer, bridge: NodeBridge, started: Callable[[], None] = lambda: None
) -> None:
    """Start, call ``started()``, print ``READY {name, commands, publish, nodes}``, serve
    until a signal or quit."""
    from controlroom.bridges import BridgeError

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: server.stopping.set())
    try:
        server.start()
    except BridgeError as exc:
        server.stop()
        raise CliError(str(exc)) from None
    try:
        started()
        info = {
            "name": server.name,
            "commands": server.endpoint,
            "publish": server.pub_endpoint,
            "nodes": bridge.nodes_url,
        }
        print("READY " + json.dumps(info), flush=True)
        server.serve_forever()
    finally:
        server.stop()


@nodes_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    host: Annotated[str | None, typer.Option(help="Address nodes connect to.")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port for nodes.")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
    pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
) -> None:
    """Run the node bridge in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish", "nodes"} (JSON) once it serves.
    """
    from controlroom.bridges.nodes import build_bridge_server

    state = cli_state(ctx)
    level = logging.DEBUG if state.debug else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    server, bridge = build_bridge_server(
        state.settings, host=host, port=port, endpoint=endpoint, pub_endpoint=pub_endpoint
    )
    attached = attach_bridge_services(server, bridge, state.settings, level=level)
    try:
        serve_bridge(
            server,
            bridge,
            lambda: attached.stoppers.append(register_bridge(server, bridge, state.settings)),
        )
    finally:
        attached.stop()


EndpointOption = Annotated[
    str | None,
    typer.Option("--endpoint", help="The bridge's command endpoint (default: Settings)."),
]


def bridge_proxy(state: CliState, endpoint: str | None) -> DeviceProxy:
    """A proxy of the running bridge: at ``endpoint``, else ``bridges.nodes.commands``."""
    from controlroom.bridges.nodes import NodeBridge
    from controlroom.device.proxy import make_proxy

    entry = (state.settings.get("bridges") or {}).get("nodes") or {}
    target = endpoint or str(entry.get("commands") or "")
    if not target or target.endswith(":0"):
        raise CliError(
            f"no fixed command endpoint for the node bridge ({target or 'none'}): "
            "give --endpoint or set bridges.nodes.commands"
        )
    timeout = state.default("proxy_timeout_s", 5.0)
    return make_proxy(NodeBridge, connectable(target), name="nodes", timeout=timeout)


@nodes_app.command("list")
@reported
def list_nodes(
    ctx: typer.Context,
    *,
    endpoint: EndpointOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every node the bridge has seen: type, address, connected, heartbeat age, lines."""
    with bridge_proxy(cli_state(ctx), endpoint) as proxy:
        nodes = proxy.request("nodes")
    if as_json:
        render.print_json(nodes)
        return
    if not nodes:
        render.say("no node has connected yet")
        return
    columns = LIST_COLUMNS
    table = Table(*columns, title="sensor nodes")
    for node in nodes:
        table.add_row(*(render.format_value(node.get(column)) for column in columns))
    render.out().print(table)


@node_app.command("show")
@reported
def show(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node id, as in `controlroom nodes list`.")],
    *,
    endpoint: EndpointOption = None,
) -> None:
    """One node in full: counts by line and DATA kind, last status, last malformed line."""
    with bridge_proxy(cli_state(ctx), endpoint) as proxy:
        render.print_result(proxy.request("node", [node]))


@node_app.command("send")
@reported
def send(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="Node id, as in `controlroom nodes list`.")],
    text: Annotated[str, typer.Argument(help="One line to send (a newline is added).")],
    *,
    endpoint: EndpointOption = None,
) -> None:
    """Send one line of text to a node through the bridge."""
    with bridge_proxy(cli_state(ctx), endpoint) as proxy:
        result = proxy.request("send", [node, text])
    render.say(f"sent to {result['node']}: {result['text']} ({result['bytes']} bytes)")
