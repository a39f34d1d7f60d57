"""``controlroom pipe``: the pipe-command server for LabVIEW, C and shell clients.

``run`` serves in the foreground until Ctrl-C or SIGTERM and prints one line
``READY {"name": "pipe", "url": "tcp://host:port"}`` once it listens (with
the actual port when ``--port 0``), like the ready lines of the other
services. Its log records (one per request: who, what, outcome) also go to
the log manager, like those of every service.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

if TYPE_CHECKING:  # the server is imported only by `pipe run`
    from controlroom.bridges.pipe import PipeServer

from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.rpc.process import READY_PREFIX, ReadyThenLog

NAME = "pipe"
pipe_app = typer.Typer(
    help="The pipe-command server: one plain `Device|command arg ...` line per request."
)


@pipe_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: bridges.pipe.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default: bridges.pipe.port; 0: the OS picks)."),
    ] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Serve the pipe-command server in the foreground until Ctrl-C or SIGTERM.

    Clients send `Device|command arg ...` lines (e.g. `dummy|read_value`) and get
    `OK <value>` or `ERR <message>`; only the commands in bridges.pipe.allow are
    served. Prints one line READY {"name", "url"} (JSON) once it listens.
    """
    from controlroom.services.logs.follow import install_from_settings

    state = cli_state(ctx)
    level = logging.DEBUG if state.debug else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    from controlroom.bridges.pipe import PipeConfig, PipeError, PipeServer

    try:
        server = PipeServer(PipeConfig.from_settings(state.settings, host=host, port=port))
    except PipeError as exc:
        raise CliError(str(exc)) from None
    stopping = _stop_on_signals()
    central_logs = install_from_settings(state.settings, server=NAME, level=level)
    try:
        _serve(server, stopping, ReadyThenLog() if handoff_stdout else sys.stdout)
    finally:
        central_logs.close()


def _serve(server: PipeServer, stopping: threading.Event, stream: TextIO) -> None:
    from controlroom.bridges.pipe import PipeError

    try:
        server.start()
    except PipeError as exc:
        server.stop()
        raise CliError(str(exc)) from None
    try:
        print(READY_PREFIX + json.dumps({"name": NAME, "url": server.url}), file=stream, flush=True)
        stopping.wait()
    finally:
        server.stop()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so both end the server cleanly."""
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
    return stopping
