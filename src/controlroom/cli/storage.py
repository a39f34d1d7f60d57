"""``controlroom storage``: run, start, stop and show the storage manager."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state
from controlroom.cli.errors import reported
from controlroom.cli.options import JsonOutput
from controlroom.cli.services import add_service_commands, service_endpoints

if TYPE_CHECKING:
    from controlroom.services.storage.client import StorageClient

NAME = "storage"

storage_app = typer.Typer(help="Run, start and stop the storage manager (housekeeping, journal).")
add_service_commands(storage_app, NAME)


@storage_app.command("stats")
@reported
def stats(ctx: typer.Context, *, as_json: JsonOutput = False) -> None:
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


@contextlib.contextmanager
def storage_client(state: CliState, timeout: float | None = None) -> Iterator[StorageClient]:
    """A client of the storage manager, closed at the end of the ``with``."""
    from controlroom.services.storage.client import StorageClient

    proxy_timeout = timeout or max(10.0, state.default("proxy_timeout_s", 5.0))
    client = StorageClient(service_endpoints(state, NAME).commands, timeout=proxy_timeout)
    try:
        yield client
    finally:
        client.close()
