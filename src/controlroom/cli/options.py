"""Options and arguments that several commands take, declared once so they read alike,
and the signature of a command made at run time from options declared elsewhere."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DeviceName = Annotated[str, typer.Argument(help="Device name, as in the Settings (e.g. dummy).")]
ListenHost = Annotated[
    str | None, typer.Option("--host", help="Address to listen on (default: Settings).")
]
ListenPort = Annotated[
    int | None,
    typer.Option(
        "--port", min=0, max=65535, help="TCP port; 0 lets the OS pick (default: Settings)."
    ),
]
CommandEndpoint = Annotated[
    str | None, typer.Option("--endpoint", help="Command endpoint to bind (default: Settings).")
]
PublishEndpoint = Annotated[
    str | None, typer.Option("--pub-endpoint", help="Publish endpoint to bind (default: Settings).")
]
Since = Annotated[
    str | None,
    typer.Option("--since", help="Start: 30m, 1h, 2d, an ISO time (UTC) or UTC seconds."),
]
Until = Annotated[
    str | None, typer.Option("--until", help="End (excluded), like --since; default: now.")
]
ReadyTimeout = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for it to be ready.")
]
# A parent that detaches the process stops reading its stdout after the ready line.
Handoff = Annotated[bool, typer.Option("--handoff-stdout", hidden=True)]


def with_parameters(
    command: Callable[..., None], *parameters: inspect.Parameter
) -> Callable[..., None]:
    """``command(ctx, **values)`` with a signature Typer reads: ``ctx``, then ``parameters``."""
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    command.__signature__ = inspect.Signature([context, *parameters])  # type: ignore[attr-defined]
    return command


def keyword(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """Parameter ``name`` of a command made at run time: an option, or an argument."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )
