"""How the CLI fails: one red line for the operator, a traceback only with ``--debug``.

Cheap to import (the program's entry imports it before any command): what
reporting a failure needs is imported when one is reported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import typer

P = ParamSpec("P")
R = TypeVar("R")

DEBUG_KEY = "controlroom.debug"
"""Key of the ``--debug`` flag in the click context's ``meta``, shared by all subcommands."""


class CliError(Exception):
    """A failure the CLI explains in one line; ``details`` are shown dimmed below it."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


def is_expected(exc: BaseException) -> bool:
    """True for a failure with a message meant for the operator; anything else is a bug."""
    from controlroom.processes.entry import EXPECTED_ERRORS as PROCESS_ERRORS

    return isinstance(exc, (CliError, *PROCESS_ERRORS))


def reported(func: Callable[P, R]) -> Callable[P, R]:
    """Make a command end in one red line and exit code 1 when it fails.

    The command must take ``ctx`` (a ``typer.Context``): it carries ``--debug``.
    """

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise  # a chosen exit code, or Ctrl-C at a prompt: not failures to report
        except Exception as exc:
            from controlroom.cli.render import report_error

            meta = getattr(kwargs.get("ctx"), "meta", None)  # a click context, whichever click
            debug = isinstance(meta, dict) and bool(meta.get(DEBUG_KEY))
            report_error(exc, debug=debug, expected=is_expected(exc))
            raise typer.Exit(1) from None

    return command
