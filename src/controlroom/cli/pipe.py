"""``controlroom pipe``: the pipe-command server for LabVIEW, C and shell clients.

``run`` serves in the foreground until Ctrl-C or SIGTERM and prints one line
``READY {"name": "pipe", "url": "tcp://host:port"}`` once it listens (with
the actual port when ``--port 0``): the process of
:func:`controlroom.processes.bridge.serve_pipe`. Its log records (one per
request: who, what, outcome) also go to the log manager.
"""

from __future__ import annotations

import typer

from controlroom.cli.bridges import add_bridge_run
from controlroom.cli.options import ListenHost, ListenPort

RUN_HELP = """Serve the pipe-command server in the foreground until Ctrl-C or SIGTERM.

Clients send `Device|command arg ...` lines (e.g. `dummy|read_value`) and get
`OK <value>` or `ERR <message>`; only the commands in bridges.pipe.allow are
served. Host and port default to bridges.pipe.host and .port. Prints one
line READY {"name", "url"} (JSON) once it listens.
"""

pipe_app = typer.Typer(
    help="The pipe-command server: one plain `Device|command arg ...` line per request."
)
add_bridge_run(pipe_app, "pipe", RUN_HELP, host=ListenHost, port=ListenPort)
