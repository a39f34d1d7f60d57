"""``controlroom storage``: run, start, stop and show the storage manager.

``start`` detaches it like ``confman start`` does the configuration manager:
its PID and actual endpoints go to the state file ``cs-storage.json``, its
output to ``cs-storage.log``. The ``hk`` and ``journal`` commands find it
there, else at the Settings' ``services.storage`` endpoints.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, Endpoints, cli_state, endpoints_of
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import (
    add_start_stop,
    attached_to,
)
from controlroom.rpc.process import ReadyThenLog

if TYPE_CHECKING:
    from controlroom.services.storage.client import StorageClient

KIND, NAME = "cs", "storage"

storage_app = typer.Typer(help="Run, start and stop the storage manager (housekeeping, journal).")
add_start_stop(storage_app, "storage")


@storage_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
    pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the storage manager in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish"} (JSON) once it serves.
    """
    from controlroom.rpc.process import serve_until_signalled
    from controlroom.services.storage.server import build_server

    state = cli_state(ctx)
    logging.basicConfig(
        level=logging.DEBUG if state.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    server = build_server(state.settings, endpoint=endpoint, pub_endpoint=pub_endpoint)
    with attached_to(server, state, NAME):
        serve_until_signalled(server, ReadyThenLog() if handoff_stdout else sys.stdout)


@storage_app.command("stats")
@reported
def stats(
    ctx: typer.Context,
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Rows and batches stored, refusals and failures, per origin and per backend."""
    with storage_client(cli_state(ctx)) as client:
        figures = client.proxy.stats()
    if as_json:
        render.print_json(figures)
        return
    summary = [(k, figures[k]) for k in ("rows", "batches", "refused_rows", "failures")]
    render.out().print(render.key_value_table(summary, title="storage manager"))
    render.out().print(
        render.key_value_table(figures["per_origin"].items(), title="rows by origin")
    )
    for kind, backend in figures["backends"].items():
        render.out().print(render.key_value_table(backend.items(), title=f"backend {kind}"))


def storage_endpoints(state: CliState) -> Endpoints:
    """Where the storage manager is: its state file, else the Settings."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return endpoints_of(record)
    entry = state.settings["services"][NAME]
    commands = str(entry["commands"])
    if commands.endswith(":0"):
        raise CliError(
            "the storage manager is not running: start it with `controlroom storage start` "
            f"(its settings endpoint {commands} has no fixed port)"
        )
    return Endpoints(commands, str(entry["publish"]), "settings")


@contextlib.contextmanager
def storage_client(state: CliState, timeout: float | None = None) -> Iterator[StorageClient]:
    """A client of the storage manager, closed at the end of the ``with``."""
    from controlroom.services.storage.client import StorageClient

    proxy_timeout = timeout or max(10.0, state.default("proxy_timeout_s", 5.0))
    client = StorageClient(storage_endpoints(state).commands, timeout=proxy_timeout)
    try:
        yield client
    finally:
        client.close()
