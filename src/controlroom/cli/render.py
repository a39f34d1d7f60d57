"""Rich output: results, command tables, status tables, JSON, and the one-line errors.

Consoles are made per call, not at import, so they write to whatever
``sys.stdout``/``sys.stderr`` are at that moment (the test runner swaps them).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.pretty import Pretty
from rich.table import Table
from rich.text import Text

from controlroom.rpc import RemoteError
from controlroom.wire.jsondata import jsonable


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def say(message: str | Text) -> None:
    """One message line on stdout, never wrapped (it may be read by a script or a test)."""
    out().print(Text(message) if isinstance(message, str) else message, soft_wrap=True)


def report_error(exc: BaseException, *, debug: bool, expected: bool) -> None:
    """One red line on stderr; with ``debug`` the traceback(s) first."""
    console = err()
    if debug:
        console.print(Text("".join(traceback.format_exception(exc)), style="dim"), soft_wrap=True)
        if isinstance(exc, RemoteError) and exc.remote_traceback:
            remote = f"remote traceback:\n{exc.remote_traceback}"
            console.print(Text(remote, style="dim"), soft_wrap=True)
    message = " ".join(str(exc).split()) or type(exc).__name__  # YAML errors span lines
    if not expected:
        message = f"unexpected {type(exc).__name__}: {message} (--debug shows the traceback)"
    console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    for detail in getattr(exc, "details", ()):
        console.print(Text(f"  {detail}", style="dim"), soft_wrap=True)


def print_json(value: Any) -> None:
    print(json.dumps(jsonable(value), indent=2))  # plain print: exact text for scripts


def print_listing(
    entries: list[dict[str, Any]],
    *,
    as_json: bool,
    table: Callable[[list[dict[str, Any]]], Table],
    empty: str,
) -> bool:
    """What a service listed: as JSON, as a table, or ``empty`` when it listed nothing.

    True when the table was printed, for a caller that adds notes below it.
    """
    if as_json:
        print_json(entries)
    elif not entries:
        say(empty)
    else:
        out().print(table(entries))
    return bool(entries) and not as_json


def print_result(value: Any) -> None:
    """A command's result for people: scalars as text, a flat map as a table."""
    value = jsonable(value)
    console = out()
    if value is None:
        console.print(Text("OK (no value returned)", style="green"))
    elif isinstance(value, str | int | float | bool):
        console.print(Text(str(value)), soft_wrap=True)
    elif isinstance(value, dict) and all(not isinstance(v, dict | list) for v in value.values()):
        console.print(key_value_table(value.items()))
    else:
        console.print(Pretty(value))


def key_value_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        show_header=False,
        box=None,
        padding=(0, 2),
        min_width=len(title or ""),
    )
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else Text(format_value(value)))
    return table


def format_value(value: Any) -> str:
    """Numbers short enough for a table; everything else as written."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple) and len(value) > 8:
        shown = ", ".join(format_value(v) for v in value[:8])
        return f"[{shown}, … ({len(value)} items)]"
    return str(value)


def format_values(values: Mapping[str, Any]) -> str:
    return "  ".join(f"{key}={format_value(value)}" for key, value in values.items())


def commands_table(info: Mapping[str, Any], services: Iterable[Mapping[str, Any]]) -> Table:
    """The commands of a server: device commands first, then the service commands."""
    table = Table(title=f"{info.get('name', '?')} commands", title_justify="left")
    table.add_column("command", style="bold cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("arguments", overflow="fold")
    table.add_column("doc")
    for command in [*info.get("commands", []), *services]:
        args = "\n".join(describe_params(command.get("params") or {})) or "-"
        doc = str(command.get("doc") or "").strip().splitlines()
        kind = str(command.get("kind", ""))
        if command.get("interrupts"):  # runs even while another command is in progress
            kind += "\ninterrupts"
        cells = (command["name"], kind, args, doc[0] if doc else "")
        table.add_row(*(Text(str(cell)) for cell in cells))  # Text: no markup in docs
    return table


def describe_params(params: Mapping[str, Any]) -> list[str]:
    """``offset: number -100..100``, optional ones in parentheses with their default."""
    properties: Mapping[str, Any] = params.get("properties") or {}
    required = set(params.get("required") or [])
    order = [n for n in params.get("x-order") or properties if n in properties]
    lines = []
    for name in order:
        text = f"{name}: {describe_schema(properties[name])}"
        lines.append(text if name in required else f"({text})")
    return lines


def describe_schema(schema: Mapping[str, Any]) -> str:
    """A JSON Schema in a few words: type, range, choices, default."""
    if "anyOf" in schema:
        kinds = [describe_schema(s) for s in schema["anyOf"] if s.get("type") != "null"]
        text = " or ".join(kinds) + " or null"
    elif "enum" in schema:
        text = "one of " + "|".join(str(v) for v in schema["enum"])
    elif schema.get("type") == "array":
        text = f"list of {describe_schema(schema.get('items') or {})}"
    else:
        text = str(schema.get("type") or "any")
    if "minimum" in schema or "maximum" in schema:
        text += f" {schema.get('minimum', '-inf')}..{schema.get('maximum', 'inf')}"
    if "maxLength" in schema:
        text += f" (max {schema['maxLength']} chars)"
    if "default" in schema:
        text += f" = {schema['default']!r}"
    return text


def duration(seconds: float) -> str:
    """``1d 02:03:04`` style uptime."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock
