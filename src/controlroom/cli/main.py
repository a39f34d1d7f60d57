"""The ``controlroom`` command: one Typer app, one module per command group.

The modules are imported when their command runs (see :mod:`controlroom.cli.lazy`):
``controlroom --help`` lists them from the table below, which a test holds to
the modules' own help.

Errors the operator can act on (a device that does not answer, a bad
argument, a missing settings file) end as one red line on stderr and exit
code 1; ``--debug`` adds the traceback, and the remote one for a failed
command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click  # the base classes of Typer's groups and contexts

import controlroom
from controlroom.cli import tophelp
from controlroom.cli.errors import DEBUG_KEY, is_expected, reported
from controlroom.cli.lazy import LazyGroup, Subcommand

LOCAL_SETTINGS_ENV = "CONTROLROOM_LOCAL_SETTINGS"
"""The variable :mod:`controlroom.config.settings` reads, named here for the help text
without importing the config package (a test holds them equal)."""


def _cli(module: str, attribute: str, help_line: str, **context: Any) -> Subcommand:
    return Subcommand(f"controlroom.cli.{module}", attribute, help_line, context or None)


SUBCOMMANDS = {  # in the order `controlroom --help` lists them
    "ps": _cli(
        "ps",
        "ps",
        "List the processes of a host's process manager: state, PID, restarts, last exit.",
    ),
    "up": _cli(
        "lab",
        "up",
        "Start this host's core services and control servers of the Setup; stop all on Ctrl-C.",
    ),
    "down": _cli(
        "lab",
        "down",
        "Stop everything `up` started on this host, in reverse order, and whoever watches\n"
        "the process manager.",
    ),
    "status": _cli(
        "labstatus",
        "lab_status",
        "Show every host, service and control server: up or down, pid, endpoints, uptime.",
    ),
    "systemd": _cli(
        "systemd",
        "systemd",
        "Write one systemd unit per process of this host, and controlroom.target for them all.",
    ),
    "journal": _cli(
        "journal",
        "journal",
        "Show the device commands that were run: when, where, with what, and how it ended.",
    ),
    # `call` takes raw values, so "-5" must reach it as a value, not as an unknown option.
    "call": _cli(
        "call",
        "call",
        "Call COMMAND on control server NAME and print its result.",
        ignore_unknown_options=True,
    ),
    "lease": _cli(
        "lease",
        "lease",
        "Take control server NAME for SECONDS: until then, only you may command it.",
    ),
    "release": _cli(
        "lease",
        "release",
        "End your lease of control server NAME (an admin breaks another's with --force).",
    ),
    "info": _cli(
        "call",
        "info",
        "List the commands of control server NAME: kind, arguments with types, ranges, defaults.",
    ),
    "demo": _cli(
        "demo",
        "demo",
        "Run the demo: simulated tempctl and dummy servers with a live status table.",
    ),
    # `run` passes --name value pairs it does not know on to the building block.
    "run": _cli(
        "run",
        "run",
        "Run building block MODULE:BLOCK with --name value arguments, as one observation.",
        allow_extra_args=True,
        ignore_unknown_options=True,
    ),
    "settings": _cli(
        "settings",
        "show_settings",
        "Print the merged Settings and the files they came from, packaged file first.",
    ),
    "sim": _cli("sim", "sim_app", "Run device simulators (stand-ins for the hardware)."),
    "cs": _cli("cs", "cs_app", "Run, start, stop and inspect control servers (one per device)."),
    "confman": _cli(
        "confman", "confman_app", "Run, start and stop the configuration manager (Setups, obsids)."
    ),
    "logs": _cli("logs", "logs_app", "Read the central logs; run, start and stop the log manager."),
    "registry": _cli(
        "registry", "registry_app", "Run, start and stop the registry; list the registered servers."
    ),
    "scheduler": _cli(
        "scheduler", "scheduler_app", "Run, start and stop the scheduler; list its jobs."
    ),
    "scenarios": _cli(
        "scenarios",
        "scenarios_app",
        "Run, start and stop the scenarios service; rules and firings.",
    ),
    "setup": _cli("setup", "setup_app", "List, show, load, submit and compare versioned Setups."),
    "obs": _cli("obs", "obs_app", "Start, end and show observations (spans of test activity)."),
    "storage": _cli(
        "storage",
        "storage_app",
        "Run, start and stop the storage manager (housekeeping, journal).",
    ),
    "web": _cli("web", "web_app", "The web panel: serve it, make password hashes for its users."),
    "hk": _cli(
        "hk", "hk_app", "Stored housekeeping: one parameter over time, the names there are."
    ),
    "procman": _cli(
        "ps", "procman_app", "Run, start and stop the process manager (it runs the rest)."
    ),
    "pipe": _cli(
        "pipe",
        "pipe_app",
        "The pipe-command server: one plain `Device|command arg ...` line per request.",
    ),
    "nodes": _cli("nodes", "nodes_app", "The sensor-node bridge: run it, list the nodes."),
    "node": _cli(
        "nodes", "node_app", "One sensor node behind the bridge: show it, send it a line."
    ),
    "mqtt": _cli(
        "mqtt",
        "mqtt_app",
        "The MQTT bridge: values, events and Home Assistant discovery on an MQTT broker.",
    ),
    "keys": _cli(
        "keys",
        "keys_app",
        "The facility keys folder: the server key, client keys and their roles.",
    ),
    "camera": _cli(
        "camera", "camera_app", "The camera's DPU: status, mode, the latest image, FITS cubes."
    ),
}


class ControlroomGroup(LazyGroup):
    subcommands = SUBCOMMANDS

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        formatter.write(tophelp.page(self, ctx))  # without Rich's import (see tophelp)


app = typer.Typer(
    name="controlroom",
    cls=ControlroomGroup,
    help="Command and monitor lab equipment: simulators, control servers, commands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    # Imported here, not at the top: a help page needs none of them.
    from controlroom.cli.context import CliState
    from controlroom.config.settings import load_settings
    from controlroom.rpc.curve import secure_process

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
        from controlroom.cli.render import report_error

        report_error(exc, debug="--debug" in sys.argv, expected=is_expected(exc))
        sys.exit(1)


if __name__ == "__main__":
    run()
