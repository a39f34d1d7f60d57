"""``controlroom obs``: start, end and show observations (their obsids come from the confman)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.confman import confman_proxy
from controlroom.cli.context import cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput

obs_app = typer.Typer(help="Start, end and show observations (spans of test activity).")

EXIT_NONE = 3  # `obs status` when no observation runs, like `cs status` for a server that is down


@obs_app.command("start")
@reported
def start(
    ctx: typer.Context,
    description: Annotated[str, typer.Argument(help="What this observation is about.")],
) -> None:
    """Start an observation; prints its obsid. Refused while another one runs."""
    with confman_proxy(cli_state(ctx)) as proxy:
        obsid = proxy.start_observation(description)
    render.say(f"observation {obsid} started: {description}")


@obs_app.command("end")
@reported
def end(ctx: typer.Context) -> None:
    """End the running observation."""
    with confman_proxy(cli_state(ctx)) as proxy:
        ended = proxy.end_observation()
    render.say(f"observation {ended['obsid']} ended ({ended['started']} to {ended['ended']})")


@obs_app.command("status")
@reported
def status(ctx: typer.Context, *, as_json: JsonOutput = False) -> None:
    """Show the running observation and the current Setup; exit code 3 when none runs."""
    with confman_proxy(cli_state(ctx)) as proxy:
        running = proxy.get_observation()
        current: Mapping[str, Any] | None = proxy.get_current_setup()
    setup_id = (current or {}).get("_meta", {}).get("id")
    if as_json:
        render.print_json({"observation": running, "setup_id": setup_id})
    elif running is None:
        render.say(f"no observation is running (current Setup: {setup_id})")
    else:
        rows = [(key, running.get(key)) for key in ("obsid", "description", "started", "setup_id")]
        render.out().print(render.key_value_table(rows, title="observation"))
    if running is None:
        raise typer.Exit(EXIT_NONE)
