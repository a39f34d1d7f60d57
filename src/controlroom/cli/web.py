"""``controlroom web``: serve the web panel, and make password hashes for its users.

``run`` serves in the foreground until Ctrl-C or SIGTERM and prints one line
``READY {"name": "web", "url": ...}`` once uvicorn listens (with the actual
port when ``--port 0``), like the ready lines of the other services.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, TextIO

import typer

from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import Handoff, ListenHost, ListenPort
from controlroom.processes.entry import configure_logging, log_level, ready_stream
from controlroom.rpc.process import READY_PREFIX

NAME = "web"
web_app = typer.Typer(help="The web panel: serve it, make password hashes for its users.")


@web_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    host: ListenHost = None,
    port: ListenPort = None,
    handoff_stdout: Handoff = False,
) -> None:
    """Serve the web panel in the foreground until Ctrl-C or SIGTERM.

    Host and port default to web.host and web.port. Prints one line
    READY {"name", "url"} (JSON) once it listens.
    """
    from controlroom.web import WebError, create_app
    from controlroom.web.config import WebConfig
    from controlroom.web.serve import serve

    state = cli_state(ctx)
    configure_logging(log_level(state.debug))
    try:
        config = WebConfig.from_settings(state.settings)
        bind = host or config.host
        app = create_app(state.settings, bind_host=bind)
    except WebError as exc:
        raise CliError(str(exc)) from None
    stream = ready_stream(handoff_stdout)
    chosen = config.port if port is None else port
    if not serve(app, bind, chosen, lambda url: _announce(url, stream), debug=state.debug):
        raise CliError(f"the web panel could not listen on {bind}:{chosen}")


@web_app.command("hash-password")
@reported
def hash_password(
    ctx: typer.Context,
    *,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Print the argon2 hash of a password, for web.users.<name>.password_hash."""
    from controlroom.web.sessions import hash_password as make_hash

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        print(make_hash(password))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _announce(url: str, stream: TextIO) -> None:
    print(READY_PREFIX + json.dumps({"name": NAME, "url": url}), file=stream, flush=True)
