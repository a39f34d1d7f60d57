"""``controlroom keys``: make and keep the facility's keys folder (CURVE keys and roles).

The folder is ``--folder``, else Settings ``security.keys``, else
``$XDG_CONFIG_HOME/controlroom/keys`` (``~/.config/controlroom/keys``).
Servers read it again on reload, so ``add`` and ``revoke`` need no restart.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput
from controlroom.rpc.keyring import (
    DEFAULT_IDENTITY,
    ROLES,
    ClientKey,
    add_client,
    init_keys,
    list_clients,
    revoke_client,
)

keys_app = typer.Typer(
    help="The facility keys folder: the server key, client keys and their roles.",
    no_args_is_help=True,
)

KeysFolder = Annotated[
    Path | None,
    typer.Option(
        "--folder",
        help="Keys folder (default: Settings security.keys, else ~/.config/controlroom/keys).",
        file_okay=False,
        show_default=False,
    ),
]
ClientName = Annotated[str, typer.Argument(help="Client key name: a-z, 0-9, '_', '.', '-'.")]


@keys_app.command("init")
@reported
def init(
    ctx: typer.Context,
    *,
    folder: KeysFolder = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Also make a self-signed certificate for the panel.")
    ] = False,
    tls_names: Annotated[
        list[str] | None,
        typer.Option(
            "--tls-name",
            help="Host name or address the panel is reached at (repeat; implies --tls; "
            "default: this host's name, localhost, 127.0.0.1).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make a keys folder: the server pair, `lab` (admin, delegate) and admin, operator, viewer."""
    where = keys_folder(ctx, folder)
    for path in init_keys(where):
        render.say(f"made {path}")
    if tls or tls_names:
        make_panel_certificate(where, tls_names or default_tls_names())
    render.say(
        f"\nTo use it, add to the local settings of every host:\n"
        f"  security:\n    keys: {where}\n"
        f"Every host needs server.key; a serving host also server.key_secret and clients/. "
        f"Processes use the key {DEFAULT_IDENTITY!r}; on a workstation copy only its own "
        f"private/<name>.key_secret and set security.identity (or $CONTROLROOM_IDENTITY)."
    )


def make_panel_certificate(folder: Path, names: list[str]) -> None:
    """``tls/panel.crt`` and ``tls/panel.key`` for the web panel's HTTPS."""
    from controlroom.web.tlscert import TlsCertError, make_self_signed

    cert, key = folder / "tls" / "panel.crt", folder / "tls" / "panel.key"
    try:
        make_self_signed(cert, key, names)
    except TlsCertError as exc:
        raise CliError(f"the keys were made, the panel certificate was not: {exc}") from None
    render.say(f"made {cert} and {key} for {', '.join(names)}")


def default_tls_names() -> list[str]:
    return [socket.gethostname(), "localhost", "127.0.0.1"]


@keys_app.command("add")
@reported
def add(
    ctx: typer.Context,
    name: ClientName,
    *,
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    devices: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            help="Limit the role to this server (repeat); elsewhere the key is a viewer.",
            show_default=False,
        ),
    ] = None,
    delegate: Annotated[
        bool,
        typer.Option(
            "--delegate", help="May act on behalf of users it authenticated (panel, bridges)."
        ),
    ] = False,
    folder: KeysFolder = None,
) -> None:
    """Make the key pair of a new client; servers accept it from their next reload."""
    where = keys_folder(ctx, folder)
    public = add_client(where, name, role, devices, delegate)
    secret = where / "private" / f"{name}.key_secret"
    render.say(f"made {public} ({role}{', delegate' if delegate else ''})")
    render.say(
        f"made {secret}: copy it (mode 600) to the client's keys folder, with server.key, "
        f"and set security.identity: {name} (or $CONTROLROOM_IDENTITY) there"
    )


@keys_app.command("list")
@reported
def list_keys(
    ctx: typer.Context, *, folder: KeysFolder = None, as_json: JsonOutput = False
) -> None:
    """The client keys the servers accept: name, role, devices, delegate, public key."""
    where = keys_folder(ctx, folder)
    entries = [client_entry(client) for client in list_clients(where)]
    empty = f"no client keys in {where}"
    render.print_listing(entries, as_json=as_json, table=clients_table, empty=empty)


def client_entry(client: ClientKey) -> dict[str, Any]:
    devices = sorted(client.devices) if client.devices is not None else None
    return {
        "name": client.name,
        "role": client.role,
        "devices": devices,
        "delegate": client.delegate,
        "public_key": client.public.decode("ascii"),
    }


def clients_table(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="client keys", title_justify="left")
    for column in ("name", "role", "devices", "delegate"):
        table.add_column(column, no_wrap=True)
    table.add_column("public key", overflow="fold")  # 40 characters: wraps on a narrow terminal
    for entry in entries:
        devices = ", ".join(entry["devices"]) if entry["devices"] is not None else "all"
        cells = (entry["name"], entry["role"], devices, "yes" if entry["delegate"] else "no")
        table.add_row(*(Text(cell) for cell in (*cells, entry["public_key"])))
    return table


@keys_app.command("revoke")
@reported
def revoke(ctx: typer.Context, name: ClientName, *, folder: KeysFolder = None) -> None:
    """Remove a client key; servers refuse it from their next reload."""
    for path in revoke_client(keys_folder(ctx, folder), name):
        render.say(f"removed {path}")
    render.say("servers refuse this key from their next reload (SIGHUP) or restart")


def keys_folder(ctx: typer.Context, given: Path | None) -> Path:
    """``--folder``, else Settings ``security.keys``, else the per-user default."""
    if given is not None:
        return given.expanduser().absolute()
    security = cli_state(ctx).settings.get("security") or {}
    configured = str(security.get("keys") or "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    return default_keys_folder()


def default_keys_folder() -> Path:
    # The XDG spec says a relative $XDG_CONFIG_HOME is invalid and to be ignored.
    base = os.environ.get("XDG_CONFIG_HOME", "")
    config = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return config / "controlroom" / "keys"
