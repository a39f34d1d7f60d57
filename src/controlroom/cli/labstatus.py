"""``controlroom status``: every service and control server of the lab at a glance."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.ps import listening, procman_endpoint
from controlroom.cli.status import EXIT_DOWN

STATE_STYLES = {"running": "green", "failed": "bold red", "backoff": "yellow", "down": "red"}


@reported
def lab_status(
    ctx: typer.Context,
    *,
    as_json: JsonOutput = False,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds each server has to answer.")
    ] = 1.0,
) -> None:
    """Show every service and control server: up or down, pid, host, endpoints, uptime.

    Also the current Setup id and obsid. Exit code 0 when everything is up,
    3 when something is down.
    """
    from controlroom.services.procman.census import take_census

    state = cli_state(ctx)
    endpoint = procman_endpoint(state)
    if endpoint is not None and not listening(endpoint):
        endpoint = None
    census = take_census(state.settings, endpoint, timeout=timeout)
    if as_json:
        render.print_json(census)
    else:
        render.out().print(_render(census))
    if not census["all_up"]:
        raise typer.Exit(EXIT_DOWN)


def _render(census: dict[str, Any]) -> Group:
    setup = census.get("setup_id")
    head = Text.assemble(
        ("site ", "dim"),
        str(census.get("site") or "-"),
        ("   Setup ", "dim"),
        "-" if setup is None else str(setup),
        ("   obsid ", "dim"),
        str(census.get("obsid") or "-"),
    )
    parts: list[Any] = [head, _table(census["processes"])]
    if not census.get("procman"):
        parts.append(Text("no process manager answers: core services at their Settings", "yellow"))
    return Group(*parts)


def _table(processes: list[dict[str, Any]]) -> Table:
    table = Table(title="lab status", title_justify="left")
    for column in ("name", "kind", "up", "state", "pid", "host", "uptime", "rss", "endpoints"):
        table.add_column(column, no_wrap=column != "endpoints")
    for row in processes:
        up = Text("up", "bold green") if row["up"] else Text("down", "bold red")
        state = str(row.get("state") or "-")
        uptime = row.get("uptime_s")
        rss = row.get("rss_mb")
        ends = row.get("endpoints") or {}
        table.add_row(
            row["name"],
            row.get("kind") or "-",
            up,
            Text(state, STATE_STYLES.get(state, "")),
            str(row.get("pid") or "-"),
            str(row.get("host") or "-"),
            "-" if uptime is None else render.duration(float(uptime)),
            "-" if rss is None else f"{float(rss):.0f} MB",
            " ".join(f"{k}={v}" for k, v in ends.items()) or "-",
        )
    return table
