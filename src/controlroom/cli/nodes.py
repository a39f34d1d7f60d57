"""``controlroom nodes`` and ``controlroom node``: the sensor-node bridge.

``nodes run`` serves the bridge (``bridges.nodes`` in the Settings) linked to
the core services as :func:`controlroom.processes.bridge.serve_nodes` does it
for the process manager. ``nodes list``, ``node show`` and ``node send`` ask
the running bridge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from controlroom.cli import render
from controlroom.cli.bridges import add_bridge_run
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import (
    CommandEndpoint,
    JsonOutput,
    ListenHost,
    ListenPort,
    PublishEndpoint,
)
from controlroom.rpc.endpoints import connectable

if TYPE_CHECKING:
    from controlroom.device.proxy import DeviceProxy

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

RUN_HELP = """Run the node bridge in the foreground until Ctrl-C, SIGTERM or quit.

Nodes connect to --host and --port (default: bridges.nodes). Prints one line
READY {"name", "commands", "publish", "nodes"} (JSON) once it serves.
"""

nodes_app = typer.Typer(help="The sensor-node bridge: run it, list the nodes.")
node_app = typer.Typer(help="One sensor node behind the bridge: show it, send it a line.")
add_bridge_run(
    nodes_app,
    "nodes",
    RUN_HELP,
    host=ListenHost,
    port=ListenPort,
    endpoint=CommandEndpoint,
    pub_endpoint=PublishEndpoint,
)


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
    as_json: JsonOutput = False,
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
