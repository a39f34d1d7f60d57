"""``controlroom status``: every host, service and control server of the lab at a glance.

One table per host of the Settings (this one first), also for a host where
nothing runs: each host's process manager is asked for its processes, this
host's where its state file says, the others' where the registry says.
"""

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
from controlroom.cli.ps import host_of_here, listening, procman_endpoint
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
    """Show every host, service and control server: up or down, pid, endpoints, uptime.

    One table per host of the Settings; also the current Setup id and obsid.
    Exit code 0 when everything is up, 3 when something is down.
    """
    from controlroom.services.procman.census import take_census

    state = cli_state(ctx)
    endpoint = procman_endpoint(state)
    if endpoint is not None and not listening(endpoint):
        endpoint = None
    census = take_census(state.settings, endpoint, timeout=timeout, me=host_of_here(state))
    if as_json:
        render.print_json(census)
    else:
        render.out().print(_render(census))
    if not census["all_up"]:
        raise typer.Exit(EXIT_DOWN)


def _render(census: dict[str, Any]) -> Group:
    setup = census.get("setup_id")
    head = Text.assemble(
        ("lab status   ", "bold"),
        ("site ", "dim"),
        str(census.get("site") or "-"),
        ("   Setup ", "dim"),
        "-" if setup is None else str(setup),
        ("   obsid ", "dim"),
        str(census.get("obsid") or "-"),
    )
    parts: list[Any] = [head]
    hosts = census.get("hosts") or []
    if not census.get("registry", True) and len(hosts) > 1:
        parts.append(Text("the registry does not answer: other hosts cannot be found", "yellow"))
    for host in hosts:
        rows = [row for row in census["processes"] if row.get("host") == host["name"]]
        parts.append(_table(_title(host, host["name"] == census.get("host")), rows))
        if host.get("procman") is None:
            note = host.get("note") or "core services at their Settings"
            parts.append(Text(f"no process manager answers: {note}", "yellow"))
    return Group(*parts)


def _title(host: dict[str, Any], here: bool) -> str:
    address = f" ({host['address']})" if host.get("address") else ""
    counts = f": {host.get('up', 0)} of {host.get('processes', 0)} up"
    return f"host {host['name']}{address}{' - this host' if here else ''}{counts}"


def _table(title: str, processes: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("name", "kind", "up", "state", "pid", "uptime", "rss", "lease", "endpoints"):
        table.add_column(column, no_wrap=column not in ("endpoints", "lease"))
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
            "-" if uptime is None else render.duration(float(uptime)),
            "-" if rss is None else f"{float(rss):.0f} MB",
            _lease_text(row.get("lease")),
            " ".join(f"{k}={v}" for k, v in ends.items()) or "-",
        )
    return table


def _lease_text(lease: Any) -> str:
    """``alice via web (key lab) until 12:30:00Z``, or ``-`` when nobody holds the server."""
    if not isinstance(lease, dict) or not lease.get("holder"):
        return "-"
    until = lease.get("until")
    return f"{lease['holder']} until {until}" if until else str(lease["holder"])
