"""``controlroom registry``: run, start, stop the registry, and list who is registered."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.services import add_service_commands, ask_service, service_endpoints

NAME = "registry"

registry_app = typer.Typer(help="Run, start and stop the registry; list the registered servers.")
add_service_commands(registry_app, NAME)


@registry_app.command("list")
@reported
def list_services(ctx: typer.Context, *, as_json: JsonOutput = False) -> None:
    """List the servers registered now, with their endpoints and last heartbeat."""
    state = cli_state(ctx)
    entries: list[dict[str, Any]] = ask_service(state, NAME, "list_services")
    endpoint = service_endpoints(state, NAME).commands
    empty = f"no server is registered (registry at {endpoint})"
    render.print_listing(entries, as_json=as_json, table=services_table, empty=empty)


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
