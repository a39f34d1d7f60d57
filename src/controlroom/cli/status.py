"""``controlroom cs status``: is a control server up, and how is it doing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import CliState, cli_state, server_endpoints
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import DeviceName, JsonOutput
from controlroom.rpc import Proxy, RpcError

EXIT_DOWN = 3  # what LSB init scripts return for "program is not running"


@reported
def status(
    ctx: typer.Context,
    *,
    name: DeviceName,
    as_json: JsonOutput = False,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds to wait for the server to answer.")
    ] = 2.0,
) -> None:
    """Show whether control server NAME is up, and how it is doing.

    Pid, endpoints, uptime, CPU, memory, polling rates and its last status
    values. Exit code 0 when it is up, 3 when it is down.
    """
    report = gather(cli_state(ctx), name, timeout)
    if as_json:
        render.print_json(report)
    else:
        render.out().print(_render(report))
    if report["state"] != "up":
        raise typer.Exit(EXIT_DOWN)


def gather(state: CliState, name: str, timeout: float) -> dict[str, Any]:
    """Everything known about server ``name``: from its state file and from asking it."""
    state.device(name)
    record = state.files.live("cs", name)
    report: dict[str, Any] = {
        "name": name,
        "state": "down",
        "pid": record.pid if record else None,
        "started": _iso(record.started) if record else None,
    }
    try:
        endpoints = server_endpoints(state, name)
    except CliError as exc:
        return {**report, "note": str(exc)}
    report["endpoints"] = {"commands": endpoints.commands, "publish": endpoints.publish}
    report["endpoints_from"] = endpoints.source
    try:
        with Proxy(endpoints.commands, name=name, timeout=timeout) as proxy:
            process = proxy.process_status()
            report["rates"] = proxy.get_rates()
            report["status"] = proxy.get_status()
    except RpcError as exc:
        return {**report, "note": str(exc)}
    report["state"] = "up"
    report["process"] = process
    report["pid"] = process.get("pid", report["pid"])
    return report


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _render(report: Mapping[str, Any]) -> Group:
    up = report["state"] == "up"
    rows: list[tuple[str, Any]] = [
        ("state", Text(report["state"], style="bold green" if up else "bold red")),
        ("pid", report.get("pid") or "-"),
    ]
    for kind, endpoint in (report.get("endpoints") or {}).items():
        rows.append((kind, f"{endpoint}  (from {report.get('endpoints_from')})"))
    if report.get("started"):
        rows.append(("started", report["started"]))
    rows += _process_rows(report.get("process") or {})
    rows += _rate_rows(report.get("rates") or {})
    if report.get("note"):
        rows.append(("note", Text(report["note"], style="yellow")))
    parts: list[Any] = [render.key_value_table(rows, title=f"control server {report['name']}")]
    sample = report.get("status")
    if sample:
        age = time.time() - float(sample.get("time", time.time()))
        title = f"last status ({age:.1f} s ago)"
        parts.append(render.key_value_table(sorted(sample.get("values", {}).items()), title))
    return Group(*parts)


def _process_rows(process: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if not process:
        return []
    return [
        ("uptime", render.duration(float(process.get("uptime_s", 0.0)))),
        ("cpu", f"{process.get('cpu_percent', 0.0):.1f} %"),
        ("rss", f"{process.get('rss_mb', 0.0):.1f} MB"),
        ("threads", process.get("threads", "-")),
        ("requests", process.get("requests", "-")),
        ("device commands", process.get("device_commands", "-")),
    ]


def _rate_rows(rates: Mapping[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for kind, rate in rates.items():
        text = f"every {rate.get('period_s', 0.0):.3g} s"
        if rate.get("clamped"):
            text += f" (asked {rate.get('requested_s', 0.0):.3g} s; the device is slower)"
        rows.append((f"{kind} period", text))
    return rows
