"""``controlroom hk``: stored housekeeping, from the storage manager.

``hk get NAME`` prints one parameter over a time span (a table, ``--json`` or
``--csv``); ``hk names`` lists the parameters that can be asked for. Times are
UTC: ``--since 30m``, ``--since 2d``, ``--since 2024-05-01T12:00`` (ISO, UTC
unless it names an offset) or UTC seconds (``--since 0``: everything).
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput, Since, Until
from controlroom.cli.storage import storage_client
from controlroom.storage.timefmt import format_datetime

hk_app = typer.Typer(help="Stored housekeeping: one parameter over time, the names there are.")


@hk_app.command("get")
@reported
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Canonical name of the parameter.")],
    *,
    since: Since = "1h",
    until: Until = None,
    origin: Annotated[
        str | None, typer.Option(help="Origin it is stored under (default: looked up).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many (earliest).")] = None,
    as_json: JsonOutput = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV: timestamp,NAME.")] = False,
) -> None:
    """Print the stored values of NAME between --since and --until."""
    if as_json and as_csv:
        raise CliError("choose one of --json and --csv")
    try:
        with storage_client(cli_state(ctx)) as client:
            series = client.get_housekeeping(name, since, until, origin=origin, limit=limit)
    except ValueError as exc:  # a time we cannot read
        raise CliError(str(exc)) from None
    if as_json:
        render.print_json(series)
    elif as_csv:
        _print_csv(series)
    else:
        _print_table(series)


def _print_csv(series: dict[str, Any]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["timestamp", series["name"]])
    for when, value in zip(series["times"], series["values"], strict=True):
        writer.writerow([format_datetime(when), value])


def _print_table(series: dict[str, Any]) -> None:
    unit = f" [{series['unit']}]" if series.get("unit") else ""
    title = f"{series['name']}{unit} from {series['origin']}: {len(series['times'])} values"
    table = Table(title=title, title_justify="left")
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column(series["name"], justify="right")
    for when, value in zip(series["times"], series["values"], strict=True):
        table.add_row(format_datetime(when), Text(render.format_value(value)))
    render.out().print(table)


@hk_app.command("names")
@reported
def names(
    ctx: typer.Context,
    *,
    origin: Annotated[str | None, typer.Option(help="Only the parameters of this origin.")] = None,
    as_json: JsonOutput = False,
) -> None:
    """List the housekeeping parameters: stored ones and those in the telemetry dictionary."""
    with storage_client(cli_state(ctx)) as client:
        found = [n for n in client.names() if origin is None or n["origin"] == origin]
    if as_json:
        render.print_json(found)
        return
    table = Table(title=f"{len(found)} housekeeping parameters", title_justify="left")
    for column in ("name", "origin", "unit"):
        table.add_column(column, no_wrap=True)
    for entry in found:
        table.add_row(*(Text(str(entry.get(c) or "")) for c in ("name", "origin", "unit")))
    render.out().print(table)
