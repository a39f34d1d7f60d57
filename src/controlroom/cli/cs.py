"""``controlroom cs``: run, start, stop and inspect control servers, one per device."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from controlroom.cli import render, status
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import (
    CommandEndpoint,
    DeviceName,
    Handoff,
    PublishEndpoint,
    ReadyTimeout,
)
from controlroom.cli.ps import procman_cs
from controlroom.cli.sim import simulator_transport
from controlroom.processes.detached import READY_TIMEOUT_S, start_detached, stop_server
from controlroom.processes.statefiles import ProcessRecord
from controlroom.rpc.child import module_argv
from controlroom.rpc.process import ReadyThenLog

cs_app = typer.Typer(help="Run, start, stop and inspect control servers (one per device).")
cs_app.command("status")(status.status)

SimOpt = Annotated[
    bool,
    typer.Option(
        "--sim",
        help="Talk to the device's simulator instead of the hardware "
        "(its detached instance if running, else the Settings address).",
    ),
]
DEVICE_MODULE = "controlroom.processes.device"
EXIT_WAIT_S = 5.0


@cs_app.command("run")
@reported
def run_server(
    ctx: typer.Context,
    *,
    name: DeviceName,
    sim: SimOpt = False,
    endpoint: CommandEndpoint = None,
    pub_endpoint: PublishEndpoint = None,
    transport: Annotated[
        str | None, typer.Option(help="Device URL to use instead of the Settings' (or --sim's).")
    ] = None,
    handoff_stdout: Handoff = False,
) -> None:
    """Run the control server of device NAME in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish"} (JSON) once it serves.
    """
    from controlroom.processes.device import build_device_server, serve_device  # not for stop

    state = cli_state(ctx)
    server = build_device_server(
        state.settings,
        name,
        sim=sim,
        transport=transport or _simulator_url(state, name, sim),
        endpoint=endpoint,
        pub_endpoint=pub_endpoint,
    )
    serve_device(
        state.settings,
        server,
        sim=sim,
        level=logging.DEBUG if state.debug else logging.INFO,
        ready=ReadyThenLog() if handoff_stdout else sys.stdout,
    )


def _simulator_url(state: CliState, name: str, sim: bool) -> str | None:
    """Where ``--sim`` talks to: the detached simulator if it runs, else the Settings' address."""
    entry = state.device(name)
    return simulator_transport(state, name, entry) if sim and "simulator" in entry else None


@cs_app.command("start")
@reported
def start(
    ctx: typer.Context,
    *,
    name: DeviceName,
    sim: SimOpt = False,
    timeout: ReadyTimeout = READY_TIMEOUT_S,
) -> None:
    """Start the control server of device NAME in the background and wait until it serves.

    Its PID and actual endpoints go to a state file, its output to a log file,
    both in the state directory; later commands find it there.
    """
    state = cli_state(ctx)
    state.device(name)  # an unknown name fails here, not in the child
    if procman_cs(state, "start", name, sim=sim):
        return  # a running process manager manages it: started (and restarted) there
    with state.files.locked("cs", name):
        running = state.files.live("cs", name)
        if running is not None:
            raise CliError(
                f"{name} is already running (pid {running.pid}, commands at "
                f"{running.endpoints.get('commands')}); `controlroom cs stop {name}` first"
            )
        record = _start_detached(state, name, sim=sim, timeout=timeout)
    ends = record.endpoints
    render.say(
        f"{name} control server started (pid {record.pid}): commands {ends['commands']}, "
        f"publish {ends['publish']}; log {record.log}"
    )


def _start_detached(state: CliState, name: str, *, sim: bool, timeout: float) -> ProcessRecord:
    args = [name, "--handoff-stdout", *state.global_args()]
    if sim:
        transport = _simulator_url(state, name, sim)
        args += ["--sim", *(["--transport", transport] if transport else [])]
    argv = module_argv(DEVICE_MODULE, *args)
    return start_detached(state, "cs", name, argv, title=f"{name} control server", timeout=timeout)


@cs_app.command("stop")
@reported
def stop(ctx: typer.Context, name: DeviceName) -> None:
    """Stop the control server of device NAME started with `cs start`.

    Asks it to quit, waits for the process to exit, and falls back to SIGTERM,
    then SIGKILL. Saying so is all it does when the server is not running.
    """
    state = cli_state(ctx)
    state.device(name)
    if procman_cs(state, "stop", name):
        return
    record = stop_server(state, name, EXIT_WAIT_S)
    if record is None:
        render.say(f"{name} is not running (no server started by `cs start`)")
    else:
        render.say(f"{name} control server stopped (pid {record.pid})")
