"""``controlroom call`` and ``controlroom info``: one command to a control server, or its list."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.text import Text

from controlroom.cli import render
from controlroom.cli.context import cli_state, server_endpoints
from controlroom.cli.convert import SERVICE_PARAMS, parse_arguments
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import DeviceName, JsonOutput
from controlroom.rpc import CallTimeout, Proxy

DEFAULT_TIMEOUT_S = 5.0

# Options shared by `call` and `info`.
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=0.01, help="Seconds to wait for each reply.", metavar="S"),
]


@reported
def call(
    ctx: typer.Context,
    *,
    name: DeviceName,
    command: Annotated[str, typer.Argument(help="Device or service command (see `info NAME`).")],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="Argument values, in order or as key=value; converted to the types "
            "the command declares. Put -- before a value that starts with -.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOutput = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """Call COMMAND on control server NAME and print its result.

    Example: controlroom call dummy set_offset 5, or offset=5. Service commands
    (ping, process_status, get_rates, set_rates, get_status, ...) work too.
    """
    endpoints = server_endpoints(cli_state(ctx), name)
    with _explained(name), Proxy(endpoints.commands, name=name, timeout=timeout) as proxy:
        params = _params_of(proxy, name, command)
        positional, keywords = parse_arguments(command, params, args or [])
        result = proxy.request(command, positional, keywords)
    if as_json:
        render.print_json(result)
    else:
        render.print_result(result)


@contextmanager
def _explained(name: str) -> Iterator[None]:
    """A timeout says what to check next: the server may be down, or busy."""
    try:
        yield
    except CallTimeout as exc:
        raise CliError(f"{exc} (is it running? `controlroom cs status {name}`)") from exc


def _params_of(proxy: Proxy, name: str, command: str) -> Mapping[str, Any]:
    """The JSON Schema of ``command``'s arguments; unknown commands fail here, clearly."""
    info = proxy.info()
    described = {c["name"]: c.get("params") or {} for c in info.get("commands", [])}
    if command in described:
        return described[command]
    services = {s["name"] for s in info.get("services", [])}
    if command in services:
        return SERVICE_PARAMS.get(command, {})
    close = difflib.get_close_matches(command, [*described, *services], n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; see `controlroom info {name}`"
    raise CliError(f"{name} has no command {command!r}{hint}")


@reported
def info(
    ctx: typer.Context,
    *,
    name: DeviceName,
    as_json: JsonOutput = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """List the commands of control server NAME: kind, arguments with types, ranges, defaults.

    Arguments in parentheses are optional. The server describes itself, so this
    always matches the driver it runs. --json prints the full info reply.
    """
    endpoints = server_endpoints(cli_state(ctx), name)
    with _explained(name), Proxy(endpoints.commands, name=name, timeout=timeout) as proxy:
        described = proxy.info()
    if as_json:
        render.print_json(described)
        return
    console = render.out()
    console.print(_headline(described), soft_wrap=True)
    console.print(render.commands_table(described, _services(described)))


def _headline(described: Mapping[str, Any]) -> Text:
    ends = described.get("endpoints") or {}
    return Text.assemble(
        (str(described.get("name", "?")), "bold"),
        f" {described.get('version', '')} on {described.get('host', '?')}",
        f", pid {described.get('pid', '?')}: commands {ends.get('commands', '?')}",
        f", publish {ends.get('publish', '?')}",
    )


def _services(described: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": service["name"],
            "kind": "service",
            "doc": service.get("doc", ""),
            "params": SERVICE_PARAMS.get(service["name"], {}),
        }
        for service in described.get("services", [])
    ]
