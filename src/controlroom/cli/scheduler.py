"""``controlroom scheduler``: run, start and stop the scheduler service; list its jobs.

The scheduler runs the jobs of the current Setup's ``schedules`` section (see
:mod:`controlroom.services.scheduler.schedules`). This module is where it
meets observations: :func:`run_in_observation` runs a building block through
:func:`controlroom.obs.execute`, which opens and ends an observation at the
configuration manager around it (services do not import ``controlroom.obs``).

``start`` detaches it like ``registry start`` does the registry: its PID and
actual endpoints go to the state file ``cs-scheduler.json``, its output to
``cs-scheduler.log``. ``jobs`` finds it there, else at the Settings'
``services.scheduler`` endpoints. ``python -m controlroom.cli.jobserver
scheduler`` runs the service without the rest of the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import add_job_run, add_start_stop
from controlroom.rpc import Proxy, RpcError
from controlroom.rpc.endpoints import connectable

KIND, NAME = "cs", "scheduler"

scheduler_app = typer.Typer(help="Run, start and stop the scheduler; list its jobs.")
add_start_stop(scheduler_app, "scheduler")
add_job_run(scheduler_app, "scheduler")


@scheduler_app.command("jobs")
@reported
def jobs(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the jobs of the current Setup: schedule, next run, last outcome."""
    state = cli_state(ctx)
    endpoint = scheduler_endpoint(state)
    try:
        with Proxy(endpoint, name=NAME, timeout=state.default("proxy_timeout_s", 5.0)) as proxy:
            entries: list[dict[str, Any]] = proxy.request("list_jobs")
    except RpcError as exc:
        raise CliError(f"the scheduler at {endpoint} does not answer: {exc}") from None
    if as_json:
        render.print_json(entries)
    elif not entries:
        render.say("the current Setup schedules no job")
    else:
        render.out().print(jobs_table(entries))
        for line in _problems(entries):
            render.say(line)


def scheduler_endpoint(state: CliState) -> str:
    """Where the scheduler is: its state file, else the Settings."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return record.endpoints.get("commands", "")
    commands = str(state.settings["services"][NAME]["commands"])
    if commands.endswith(":0"):
        raise CliError(
            "the scheduler is not running: start it with `controlroom scheduler start` "
            f"(its settings endpoint {commands} has no fixed port)"
        )
    return connectable(commands)


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
