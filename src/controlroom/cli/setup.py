"""``controlroom setup``: list, show, load, submit and compare Setups in the configuration manager.

Every command asks the running configuration manager (``controlroom confman
start``); none reads the repository directly, so what is shown is what every
server sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.confman import confman_proxy
from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import JsonOutput
from controlroom.config.errors import ConfigError
from controlroom.config.setup import Setup

setup_app = typer.Typer(help="List, show, load, submit and compare versioned Setups.")

IdArg = Annotated[int, typer.Argument(help="Setup id (the number in SETUP_<SITE>_<NNNNN>).")]
SiteOpt = Annotated[
    str | None, typer.Option("--site", help="Site of the Setups (default: this site).")
]


@setup_app.command("list")
@reported
def list_setups(
    ctx: typer.Context,
    *,
    site: Annotated[str | None, typer.Option("--site", help="Only Setups of this site.")] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="key.path=value: only Setups with that value there (YAML: 42, true, text). "
            "Repeat for several.",
        ),
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """List the Setups, oldest first: id, site, created, parent and description."""
    with confman_proxy(cli_state(ctx)) as proxy:
        found = proxy.list_setups(site, parse_filters(filters or []))
    if as_json:
        render.print_json(found)
        return
    table = Table("id", "site", "created", "from", "description", title="Setups")
    for meta in found:
        parent = meta.get("derived_from")
        table.add_row(
            str(meta["id"]),
            str(meta["site"]),
            str(meta.get("created") or ""),
            "" if parent is None else str(parent),
            Text(str(meta.get("description") or "")),
        )
    render.out().print(table)


def parse_filters(items: list[str]) -> dict[str, Any]:
    """``["gse.hexapod.ID=42"]`` → ``{"gse.hexapod.ID": 42}``: values are read as YAML."""
    filters: dict[str, Any] = {}
    for item in items:
        path, separator, text = item.partition("=")
        if not separator or not path.strip():
            raise CliError(f"--filter {item!r}: expected key.path=value")
        try:
            filters[path.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            filters[path.strip()] = text  # not YAML: compare as the text typed
    return filters


@setup_app.command("show")
@reported
def show(
    ctx: typer.Context, setup_id: IdArg, site: SiteOpt = None, as_json: JsonOutput = False
) -> None:
    """Print Setup ID as a tree (directives as written, nothing is instantiated)."""
    with confman_proxy(cli_state(ctx)) as proxy:
        data = proxy.get_setup(setup_id, site)
    if as_json:
        render.print_json(data)
        return
    setup = Setup.from_dict(data)
    meta = setup.meta
    render.out().print(setup.tree())
    render.say(f"Setup {meta.site} {meta.id}: {meta.description}")


@setup_app.command("load")
@reported
def load(ctx: typer.Context, setup_id: IdArg) -> None:
    """Make Setup ID the current one; the servers that listen are told (new_setup)."""
    with confman_proxy(cli_state(ctx)) as proxy:
        data = proxy.load_setup(setup_id)
    meta = Setup.from_dict(data).meta
    render.say(f"Setup {meta.id} of {meta.site} is now the current Setup: {meta.description}")


@setup_app.command("submit")
@reported
def submit(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="YAML file of the Setup.", exists=True, dir_okay=False)
    ],
    *,
    message: Annotated[
        str, typer.Option("--message", "-m", help="What changed (the commit message).")
    ],
    derived_from: Annotated[
        int | None,
        typer.Option(help="Id of the Setup this one was made from (default: its own _meta.id)."),
    ] = None,
) -> None:
    """Submit the Setup in FILE as the next version; prints its new id."""
    try:
        setup = Setup.from_yaml_file(file)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    with confman_proxy(cli_state(ctx)) as proxy:
        new_id = proxy.submit_setup(setup.to_dict(), message, derived_from)
    render.say(f"submitted {file} as Setup {new_id}")


@setup_app.command("diff")
@reported
def diff(
    ctx: typer.Context, a: IdArg, b: IdArg, site: SiteOpt = None, as_json: JsonOutput = False
) -> None:
    """Show what changed from Setup A to Setup B (a unified diff of their content)."""
    with confman_proxy(cli_state(ctx)) as proxy:
        result = proxy.diff_setups(a, b, site)
    if as_json:
        render.print_json(result)
    elif not result["changes"]:
        render.say(f"Setups {a} and {b} have the same content")
    else:
        render.out().print(Text(result["text"].rstrip("\n")), soft_wrap=True)
