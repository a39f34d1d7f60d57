"""``controlroom logs``: read the central logs, and run, start and stop the log manager.

``start`` detaches the log manager like ``confman start`` does: its PID and
actual endpoints (``records`` too) go to the state file ``cs-logman.json``,
its own output to ``cs-logman.log``. ``tail`` finds it there, else at the
Settings' ``services.logman`` endpoints.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, Endpoints, cli_state, endpoints_of
from controlroom.cli.errors import CliError, reported
from controlroom.cli.services import (
    add_start_stop,
    attached_to,
)
from controlroom.cli.spawn import (
    sigterm_interrupts,
)
from controlroom.rpc.process import ReadyThenLog

KIND, NAME = "cs", "logman"
_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")

logs_app = typer.Typer(help="Read the central logs; run, start and stop the log manager.")
add_start_stop(logs_app, "logman")


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
    ends = logman_endpoints(state)
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


@logs_app.command("run")
@reported
def run(
    ctx: typer.Context,
    *,
    endpoint: Annotated[str | None, typer.Option(help="Command endpoint to bind.")] = None,
    pub_endpoint: Annotated[str | None, typer.Option(help="Publish endpoint to bind.")] = None,
    records_endpoint: Annotated[
        str | None, typer.Option(help="Endpoint to bind for records.")
    ] = None,
    handoff_stdout: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the log manager in the foreground until Ctrl-C, SIGTERM or quit.

    Prints one line READY {"name", "commands", "publish", "records"} (JSON) once it serves.
    """
    from controlroom.services.logs.server import build_manager, build_server, serve

    state = cli_state(ctx)
    logging.basicConfig(
        level=logging.DEBUG if state.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    manager = build_manager(state.settings, records_endpoint=records_endpoint)
    server = build_server(state.settings, manager, endpoint=endpoint, pub_endpoint=pub_endpoint)
    with attached_to(server, state, NAME):
        serve(server, manager, ReadyThenLog() if handoff_stdout else sys.stdout)


def logman_endpoints(state: CliState) -> Endpoints:
    """Where the log manager is: its state file, else the Settings."""
    record = state.files.live(KIND, NAME)
    if record is not None:
        return endpoints_of(record)
    entry = state.settings["services"][NAME]
    commands = str(entry["commands"])
    if commands.endswith(":0"):
        raise CliError(
            "the log manager is not running: start it with `controlroom logs start` "
            f"(its settings endpoint {commands} has no fixed port)"
        )
    return Endpoints(commands, str(entry["publish"]), "settings")
