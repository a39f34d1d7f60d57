"""``controlroom lease`` and ``controlroom release``: take a control server for a while.

The lease is held by this process's identity (the client key of
``security.identity``, or ``anonymous`` without CURVE), so the commands that
identity sends next pass while those of others are refused. It ends at its
``until`` unless taken again before; ``release`` ends it at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from controlroom.cli import render
from controlroom.cli.call import DEFAULT_TIMEOUT_S, TimeoutOpt
from controlroom.cli.context import cli_state, server_endpoints
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import DeviceName, JsonOutput
from controlroom.rpc import CallTimeout, Proxy
from controlroom.rpc.leases import MAX_LEASE_S, MIN_LEASE_S

Seconds = Annotated[
    float | None,
    typer.Argument(
        min=MIN_LEASE_S,
        max=MAX_LEASE_S,
        help="How long to hold it (taking it again before then renews it); "
        "without it: show who holds it.",
        show_default=False,
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Break another's lease (admin role).")]


@reported
def lease(
    ctx: typer.Context,
    *,
    name: DeviceName,
    seconds: Seconds = None,
    as_json: JsonOutput = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """Take control server NAME for SECONDS: until then, only you may command it.

    Reads stay open to all. Taking it again renews the lease; a lease held by
    someone else is refused, naming them and when it ends.
    """
    with _proxy(ctx, name, timeout) as proxy:
        held = proxy.lease_status() if seconds is None else proxy.lease(seconds)
    if as_json:
        render.print_json(held)
    else:
        render.say(describe(name, held))


@reported
def release(
    ctx: typer.Context,
    *,
    name: DeviceName,
    force: Force = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT_S,
) -> None:
    """End your lease of control server NAME (an admin breaks another's with --force)."""
    with _proxy(ctx, name, timeout) as proxy:
        released = proxy.release(force=force)
    render.say(f"{name} released" if released else f"{name} was not leased")


def describe(name: str, held: Mapping[str, Any] | None) -> str:
    """One line: who holds ``name`` and until when."""
    if not held:
        return f"{name} is not leased"
    left = render.duration(float(held.get("remaining_s", 0.0)))
    return f"{name} is leased by {held.get('holder')} until {held.get('until')} ({left} left)"


@contextmanager
def _proxy(ctx: typer.Context, name: str, timeout: float) -> Iterator[Proxy]:
    endpoints = server_endpoints(cli_state(ctx), name)
    try:
        with Proxy(endpoints.commands, name=name, timeout=timeout) as proxy:
            yield proxy
    except CallTimeout as exc:
        raise CliError(f"{exc} (is it running? `controlroom cs status {name}`)") from exc
