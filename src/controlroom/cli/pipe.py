"""``controlroom pipe``: the pipe-command server for LabVIEW, C and shell clients.

``run`` serves in the foreground until Ctrl-C or SIGTERM and prints one line
``READY {"name": "pipe", "url": "tcp://host:port"}`` once it listens (with
the actual port when ``--port 0``): the process of
:func:`controlroom.processes.bridge.serve_pipe`. Its log records (one per
request: who, what, outcome) also go to the log manager.
"""

from __future__ import annotations

from typing import Annotated

import typer

from controlroom.cli.context import cli_state
from controlroom.cli.errors import bridge_errors, reported

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
    from controlroom.processes.bridge import serve_pipe

    state = cli_state(ctx)
    with bridge_errors():
        serve_pipe(
            state.settings, host=host, port=port, debug=state.debug, handoff_stdout=handoff_stdout
        )
