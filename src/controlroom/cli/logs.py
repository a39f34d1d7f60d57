"""``controlroom logs``: read the central logs, and run, start and stop the log manager."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sys
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import Endpoints, cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import add_service_commands, service_endpoints
from controlroom.processes.entry import sigterm_interrupts

NAME = "logman"
_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")

logs_app = typer.Typer(help="Read the central logs; run, start and stop the log manager.")
add_service_commands(logs_app, NAME)


@logs_app.command("tail")
@reported
def tail(
    ctx: typer.Context,
    *,
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="Records to show.")] = 20,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep showing new records until Ctrl-C.")
    ] = False,
    level: Annotated[
        str | None, typer.Option(help="Only records at this level or above (e.g. WARNING).")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="Only records of this server (a glob: 'tempctl*').")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only records since: 90s, 15m, 1h, 2d, or an ISO time (UTC).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
) -> None:
    """Show the last records of every process, oldest first; -f follows new ones."""
    state = cli_state(ctx)
    ends = service_endpoints(state, NAME)
    query = {"level": level, "server": server, "since": parse_since(since)}
    timeout = state.default("proxy_timeout_s", 5.0)
    with sigterm_interrupts(), contextlib.suppress(KeyboardInterrupt):  # the way out of -f
        _tail(ends, lines, query, follow=follow, as_json=as_json, timeout=timeout)


def _tail(
    ends: Endpoints,
    lines: int,
    query: dict[str, Any],
    *,
    follow: bool,
    as_json: bool,
    timeout: float,
) -> None:
    from controlroom.device.proxy import make_proxy
    from controlroom.services.logs.follow import LogFollower
    from controlroom.services.logs.server import LogManager

    # Subscribed before the query, so no record falls between the two.
    with LogFollower(ends.publish, level=query["level"], server=query["server"]) as follower:
        proxy: Any = make_proxy(LogManager, ends.commands, name=NAME, timeout=timeout)
        try:
            records = proxy.tail(lines, **query)
        finally:
            proxy.close()
        for record in records:
            _show(record, as_json)
        if follow:
            shown = {_key(record) for record in records}
            for record in follower:
                if _key(record) not in shown:  # arrived after subscribing, before the query
                    _show(record, as_json)


def _key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return (record.get("time"), record.get("pid"), record.get("host"), record.get("message"))


def _show(record: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
    else:
        render.say(format_record(record))
    sys.stdout.flush()  # a pipe (| grep) sees each record at once


def format_record(record: Mapping[str, Any]) -> Text:
    """``2024-05-01 12:00:00.123 WARNING tempctl [obsid] logger: message`` (+ traceback)."""
    when = str(record.get("time", "")).replace("T", " ").rstrip("Z")[:23]
    level = str(record.get("level", ""))
    text = Text(f"{when} ")
    text.append(f"{level:<8}", style=_STYLES.get(level, ""))
    text.append(f" {record.get('server') or '-'}")
    if record.get("obsid"):
        text.append(f" [{record['obsid']}]", style="cyan")
    text.append(f" {record.get('logger')}: {record.get('message')}")
    if record.get("exception"):
        text.append("\n" + str(record["exception"]).rstrip(), style="dim")
    return text


def parse_since(since: str | None, now: float | None = None) -> float | None:
    """UTC seconds from ``90s``/``15m``/``1h``/``2d`` ago or an ISO time (naive: UTC)."""
    if since is None:
        return None
    match = _AGO.match(since.strip())
    if match:
        ago = float(match.group(1)) * _UNITS[match.group(2)]
        return (time.time() if now is None else now) - ago
    try:
        moment = dt.datetime.fromisoformat(since.strip())
    except ValueError:
        raise CliError(
            f"--since {since!r}: give an age (90s, 15m, 1h, 2d) or an ISO time "
            "(2024-05-01T12:00, UTC unless it has an offset)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()
