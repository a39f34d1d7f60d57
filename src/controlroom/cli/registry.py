"""``controlroom registry``: run, start, stop the registry, and list who is registered.

``start`` detaches it like ``confman start`` does the configuration manager:
its PID and actual endpoints go to the state file ``cs-registry.json``, its
output to ``cs-registry.log``. ``list`` finds it there, else at the Settings'
``services.registry`` endpoints.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import (
    add_start_stop,
    attached_to,
)
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable
from controlroom.rpc.process import ReadyThenLog

KIND, NAME = "cs", "registry"

registry_app = typer.Typer(help="Run, start and stop the registry; list the registered servers.")
add_start_stop(registry_app, "registry")


@registry_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
    pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
    ttl: Annotated[
        float | None, typer.Option(min=0.01, help="Seconds without heartbeat before a drop.")
    ] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the registry in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish"} (JSON) once it serves.
    """
    from controlroom.rpc.process import serve_until_signalled
    from controlroom.services.registry.server import build_server

    state = cli_state(ctx)
    logging.basicConfig(
        level=logging.DEBUG if state.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    server = build_server(state.settings, endpoint=endpoint, pub_endpoint=pub_endpoint, ttl_s=ttl)
    with attached_to(server, state, NAME):
        serve_until_signalled(server, ReadyThenLog() if handoff_stdout else sys.stdout)


@registry_app.command("list")
@reported
def list_services(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the servers registered now, with their endpoints and last heartbeat."""
    state = cli_state(ctx)
    endpoint = registry_endpoint(state)
    timeout = state.default("proxy_timeout_s", 5.0)
    try:
        with Proxy(endpoint, name=NAME, timeout=timeout) as proxy:
            entries: list[dict[str, Any]] = proxy.request("list_services")
    except RpcError as exc:
        raise CliError(f"the registry at {endpoint} does not answer: {exc}") from None
    if as_json:
        render.print_json(entries)
    elif not entries:
        render.say(f"no server is registered (registry at {endpoint})")
    else:
        render.out().print(services_table(entries))


def registry_endpoint(state: CliState) -> str:
    """Where the registry is: its state file, else the Settings."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return record.endpoints.get("commands", "")
    commands = str(state.settings["services"][NAME]["commands"])
    if commands.endswith(":0"):
        raise CliError(
            "the registry is not running: start it with `controlroom registry start` "
            f"(its settings endpoint {commands} has no fixed port)"
        )
    return connectable(commands)


def services_table(entries: list[dict[str, Any]]) -> Table:
    """One row per registered server."""
    table = Table(title="registered servers", title_justify="left")
    for column in ("name", "commands", "publish", "host", "pid", "registered", "heartbeat"):
        table.add_column(column, no_wrap=column != "publish")
    now = time.time()
    for entry in entries:
        ends, meta = entry.get("endpoints") or {}, entry.get("metadata") or {}
        cells = (
            entry.get("name", "?"),
            ends.get("commands", "-"),
            ends.get("publish", "-"),
            meta.get("host", "-"),
            meta.get("pid", "-"),
            render.duration(now - float(entry.get("registered") or now)) + " ago",
            f"{float(entry.get('age_s') or 0.0):.1f} s ago",
        )
        table.add_row(*(Text(str(cell)) for cell in cells))
    return table
