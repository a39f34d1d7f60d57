"""``controlroom scheduler``: run, start and stop the scheduler service; list its jobs.

The scheduler runs the jobs of the current Setup's ``schedules`` section (see
:mod:`controlroom.services.scheduler.schedules`), building blocks inside
observations (:mod:`controlroom.processes.jobs`).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.services import add_service_commands, ask_service

NAME = "scheduler"

scheduler_app = typer.Typer(help="Run, start and stop the scheduler; list its jobs.")
add_service_commands(scheduler_app, NAME)


@scheduler_app.command("jobs")
@reported
def jobs(ctx: typer.Context, *, as_json: JsonOutput = False) -> None:
    """List the jobs of the current Setup: schedule, next run, last outcome."""
    entries: list[dict[str, Any]] = ask_service(cli_state(ctx), NAME, "list_jobs")
    empty = "the current Setup schedules no job"
    if render.print_listing(entries, as_json=as_json, table=jobs_table, empty=empty):
        for line in _problems(entries):
            render.say(line)


def jobs_table(entries: list[dict[str, Any]]) -> Table:
    """One row per job (and what it runs): schedule, next run, counts, last outcome."""
    table = Table(title="scheduled jobs", title_justify="left")
    table.add_column("job", overflow="fold")
    for column in ("cron", "next run", "runs", "fail", "last"):
        table.add_column(column, no_wrap=True)
    for entry in entries:
        job = Text(str(entry.get("name")))
        job.append(f"\n{entry.get('run', '-')}", style="dim")
        cells = [entry.get("cron", "-"), _next_run(entry), entry.get("runs"), entry.get("failures")]
        table.add_row(job, *(Text(str(cell)) for cell in cells), _last(entry))
    return table


def _next_run(entry: dict[str, Any]) -> str:
    """``2026-01-01 02:00``, in the job's time zone, like its cron expression."""
    if entry.get("paused"):
        return "-" if entry.get("refused") else "paused"
    return str(entry.get("next_run") or "-")[:16].replace("T", " ")


def _last(entry: dict[str, Any]) -> Text:
    if entry.get("refused"):
        return Text("refused", style="red")
    if entry.get("running"):
        return Text("running", style="bold")
    outcome = str(entry.get("last_outcome") or "-")
    return Text(outcome, style="red" if outcome == "error" else "")


def _problems(entries: list[dict[str, Any]]) -> list[Text]:
    """Why jobs were refused or failed last, one line each, for below the table."""
    lines = []
    for entry in entries:
        reason = entry.get("refused") or (
            entry.get("last_error") if entry.get("last_outcome") == "error" else None
        )
        if reason:
            lines.append(Text(f"{entry.get('name')}: {reason}", style="red"))
    return lines
