"""``controlroom confman``: run, start and stop the configuration manager.

``start`` detaches it like ``cs start`` does a control server: its PID and
actual endpoints go to the state file ``cs-confman.json`` (the configuration
manager is a control server), its output to ``cs-confman.log``. The
``setup`` and ``obs`` commands find it there, else at the Settings'
``services.confman`` endpoints.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from controlroom.cli.context import CliState, Endpoints, cli_state, endpoints_of
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import (
    add_start_stop,
    attached_to,
)
from controlroom.device.proxy import make_proxy
from controlroom.rpc.process import ReadyThenLog

KIND, NAME = "cs", "confman"

confman_app = typer.Typer(help="Run, start and stop the configuration manager (Setups, obsids).")
add_start_stop(confman_app, "confman")


@confman_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
    pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the configuration manager in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish"} (JSON) once it serves.
    """
    from controlroom.rpc.process import serve_until_signalled
    from controlroom.services.confman.server import build_server

    state = cli_state(ctx)
    logging.basicConfig(
        level=logging.DEBUG if state.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    server = build_server(state.settings, endpoint=endpoint, pub_endpoint=pub_endpoint)
    with attached_to(server, state, NAME):
        serve_until_signalled(server, ReadyThenLog() if handoff_stdout else sys.stdout)


def confman_endpoints(state: CliState) -> Endpoints:
    """Where the configuration manager is: its state file, else the Settings."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return endpoints_of(record)
    entry = state.settings["services"][NAME]
    commands = str(entry["commands"])
    if commands.endswith(":0"):
        raise CliError(
            "the configuration manager is not running: start it with `controlroom confman start` "
            f"(its settings endpoint {commands} has no fixed port)"
        )
    return Endpoints(commands, str(entry["publish"]), "settings")


@contextlib.contextmanager
def confman_proxy(state: CliState, timeout: float | None = None) -> Iterator[Any]:
    """A proxy for the configuration manager, closed at the end of the ``with``.

    Typed ``Any``: its methods are made from ``ConfigurationManager`` at run time.
    """
    from controlroom.services.confman.server import ConfigurationManager

    proxy_timeout = timeout or float(state.settings["defaults"]["proxy_timeout_s"])
    endpoint = confman_endpoints(state).commands
    proxy = make_proxy(ConfigurationManager, endpoint, name=NAME, timeout=proxy_timeout)
    try:
        yield proxy
    finally:
        proxy.close()
