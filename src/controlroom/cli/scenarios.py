"""``controlroom scenarios``: run, start and stop the scenarios service; list rules and firings.

The service fires the rules of the current Setup's ``scenarios`` section (see
:mod:`controlroom.services.scenarios.rules`), a building block inside an
observation of its own (:mod:`controlroom.processes.jobs`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.services import add_service_commands, ask_service

NAME = "scenarios"

scenarios_app = typer.Typer(help="Run, start and stop the scenarios service; rules and firings.")
add_service_commands(scenarios_app, NAME)


@scenarios_app.command("rules")
@reported
def rules(ctx: typer.Context, *, as_json: JsonOutput = False) -> None:
    """List the rules of the current Setup: condition, what runs, firings, last outcome."""
    entries: list[dict[str, Any]] = ask_service(cli_state(ctx), NAME, "rules")
    empty = "the current Setup has no scenarios"
    if render.print_listing(entries, as_json=as_json, table=rules_table, empty=empty):
        for entry in entries:
            if entry.get("last_outcome") == "error":
                render.say(Text(f"{entry['name']}: {entry.get('last_error')}", style="red"))


@scenarios_app.command("firings")
@reported
def firings(
    ctx: typer.Context,
    *,
    limit: Annotated[int, typer.Option(min=0, help="How many, newest first.")] = 20,
    as_json: JsonOutput = False,
) -> None:
    """List the last firings: when, rule, value that fired it, obsid, outcome, duration."""
    entries: list[dict[str, Any]] = ask_service(cli_state(ctx), NAME, "firings", limit)
    empty = "no rule has fired yet"
    render.print_listing(entries, as_json=as_json, table=firings_table, empty=empty)


def rules_table(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="scenarios", title_justify="left")
    table.add_column("rule", overflow="fold")
    table.add_column("when", overflow="fold")
    for column in ("fired", "fail", "last"):
        table.add_column(column, no_wrap=True)
    for entry in entries:
        rule = Text(str(entry.get("name")))
        rule.append(f"\n{entry.get('run', '-')}", style="dim")
        last = "disabled" if not entry.get("enabled") else str(entry.get("last_outcome") or "-")
        if entry.get("running"):
            last = "running"
        style = "red" if last == "error" else ("dim" if last == "disabled" else "")
        cells = (entry.get("condition"), entry.get("firings"), entry.get("failures"))
        table.add_row(rule, *(Text(str(cell)) for cell in cells), Text(last, style=style))
    return table


def firings_table(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="firings, newest first", title_justify="left")
    for column in ("time (UTC)", "rule", "value", "obsid", "outcome", "s"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        when = datetime.fromtimestamp(float(entry.get("time") or 0), UTC)
        outcome = str(entry.get("outcome"))
        if entry.get("error"):
            outcome = f"{outcome}: {entry['error']}"
        table.add_row(
            when.strftime("%Y-%m-%d %H:%M:%S"),
            str(entry.get("rule")),
            str(entry.get("value")),
            str(entry.get("obsid") or "-"),
            Text(outcome, style="red" if entry.get("error") else ""),
            f"{float(entry.get('duration_s') or 0):.3f}",
        )
    return table
