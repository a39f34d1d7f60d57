"""The ``controlroom`` command: one Typer app, one module per command group.

Errors the operator can act on (a device that does not answer, a bad
argument, a missing settings file) end as one red line on stderr and exit
code 1; ``--debug`` adds the traceback, and the remote one for a failed
command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

import controlroom
from controlroom.cli import call, confman, cs, demo, lab, lease, obs, setup, sim
from controlroom.cli.camera import camera_app
from controlroom.cli.context import CliState
from controlroom.cli.errors import DEBUG_KEY, EXPECTED_ERRORS, reported
from controlroom.cli.hk import hk_app
from controlroom.cli.journal import journal
from controlroom.cli.keys import keys_app
from controlroom.cli.labstatus import lab_status
from controlroom.cli.logs import logs_app
from controlroom.cli.mqtt import mqtt_app
from controlroom.cli.nodes import node_app, nodes_app
from controlroom.cli.pipe import pipe_app
from controlroom.cli.ps import procman_app, ps
from controlroom.cli.registry import registry_app
from controlroom.cli.render import report_error
from controlroom.cli.run import run as run_block
from controlroom.cli.scenarios import scenarios_app
from controlroom.cli.scheduler import scheduler_app
from controlroom.cli.settings import show_settings
from controlroom.cli.storage import storage_app
from controlroom.cli.systemd import systemd
from controlroom.cli.web import web_app
from controlroom.config.settings import LOCAL_SETTINGS_ENV, load_settings
from controlroom.rpc.curve import secure_process

app = typer.Typer(
    name="controlroom",
    help="Command and monitor lab equipment: simulators, control servers, commands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
GROUPS = {
    "sim": sim.sim_app,
    "cs": cs.cs_app,
    "confman": confman.confman_app,
    "logs": logs_app,
    "registry": registry_app,
    "scheduler": scheduler_app,
    "scenarios": scenarios_app,
    "setup": setup.setup_app,
    "obs": obs.obs_app,
    "storage": storage_app,
    "web": web_app,
    "hk": hk_app,
    "procman": procman_app,
    "pipe": pipe_app,
    "nodes": nodes_app,
    "node": node_app,
    "mqtt": mqtt_app,
    "keys": keys_app,
    "camera": camera_app,
}
COMMANDS: dict[str, Callable[..., None]] = {
    "ps": ps,
    "up": lab.up,
    "down": lab.down,
    "status": lab_status,
    "systemd": systemd,
    "journal": journal,
    "call": call.call,
    "lease": lease.lease,
    "release": lease.release,
    "info": call.info,
    "demo": demo.demo,
    "run": run_block,
    "settings": show_settings,
}
CONTEXTS: dict[str, dict[str, Any]] = {
    # `call` takes raw values, so "-5" must reach it as a value, not as an unknown option.
    "call": {"ignore_unknown_options": True},
    # `run` passes --name value pairs it does not know on to the building block.
    "run": {"allow_extra_args": True, "ignore_unknown_options": True},
}
for name, group in GROUPS.items():
    app.add_typer(group, name=name)
for name, command in COMMANDS.items():
    app.command(name, context_settings=CONTEXTS.get(name))(command)


def _version(value: bool) -> None:
    if value:
        print(f"controlroom {controlroom.__version__}")
        raise typer.Exit


@app.callback()
@reported
def main(
    ctx: typer.Context,
    *,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help=f"Local settings YAML over the packaged one (default: ${LOCAL_SETTINGS_ENV}).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs of servers.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Command and monitor lab equipment: simulators, control servers, commands."""
    ctx.meta[DEBUG_KEY] = debug  # first, so a settings error below honours --debug
    ctx.obj = CliState(load_settings(settings), settings_file=settings, debug=debug)
    # The CLI calls servers (and runs some in the foreground): CURVE as the Settings say.
    if ctx.invoked_subcommand != "keys":  # keys makes and mends the folder the others need
        secure_process(ctx.obj.settings, serving=False)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)  # interrupted outside a command that handles Ctrl-C itself
    except Exception as exc:  # every command reports its own; this catches the rest
        report_error(exc, debug="--debug" in sys.argv, expected=isinstance(exc, EXPECTED_ERRORS))
        sys.exit(1)


if __name__ == "__main__":
    run()
