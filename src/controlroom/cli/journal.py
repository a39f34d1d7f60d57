"""``controlroom journal``: the stored command journal (every device command, with its outcome).

Filters: ``--obsid``, ``--server``, ``--since``/``--until`` (like ``hk get``:
``30m``, ``1h``, an ISO time in UTC, UTC seconds); ``--limit`` keeps the latest
entries. ``--json`` prints the entries as stored.
"""

from __future__ import annotations

import json
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


@reported
def journal(
    ctx: typer.Context,
    *,
    obsid: Annotated[str | None, typer.Option(help="Only commands of this observation.")] = None,
    since: Since = None,
    until: Until = None,
    server: Annotated[str | None, typer.Option(help="Only commands of this server.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show the latest this many.")] = 50,
    as_json: JsonOutput = False,
) -> None:
    """Show the device commands that were run: when, where, with what, and how it ended."""
    try:
        with storage_client(cli_state(ctx)) as client:
            entries = client.journal(
                obsid=obsid, since=since, until=until, server=server, limit=limit
            )
    except ValueError as exc:  # a time we cannot read
        raise CliError(str(exc)) from None
    if as_json:
        render.print_json(entries)
        return
    table = Table(title=f"{len(entries)} commands", title_justify="left")
    columns = ("time (UTC)", "obsid", "setup", "server", "command", "caller", "outcome", "ms")
    for column in columns:
        table.add_column(column, no_wrap=column not in ("command", "caller"), overflow="fold")
    for entry in entries:
        table.add_row(
            format_datetime(entry["time"]),
            str(entry.get("obsid") or "-"),
            str(entry.get("setup_id") if entry.get("setup_id") is not None else "-"),
            str(entry.get("server") or ""),
            Text(call_text(entry)),
            Text(str(entry.get("caller") or "-")),
            outcome_text(entry),
            f"{1000 * float(entry.get('duration_s') or 0):.1f}",
        )
    render.out().print(table)


def call_text(entry: dict[str, Any]) -> str:
    """``set_offset(2.5, mode='fast')`` from the stored command and arguments."""
    text = str(entry.get("arguments") or "")
    try:
        arguments = json.loads(text)
        args = [repr(a) for a in arguments.get("args", [])]
        kwargs = [f"{k}={v!r}" for k, v in arguments.get("kwargs", {}).items()]
        text = ", ".join(args + kwargs)
    except (ValueError, AttributeError):  # cut at its size limit: show it as stored
        pass
    return f"{entry.get('command')}({text})"


def outcome_text(entry: dict[str, Any]) -> Text:
    """``ok → value`` in green, ``Type: message`` in red."""
    if entry.get("outcome") == "ok":
        value = entry.get("value")
        shown = "ok" if value in (None, "null") else f"ok → {value}"
        return Text(shown, style="green")
    return Text(f"{entry.get('error_type')}: {entry.get('error_message')}", style="red")
