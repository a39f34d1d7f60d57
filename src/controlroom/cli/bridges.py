"""The bridges' ``run`` commands (``nodes``, ``pipe``, ``mqtt``), made one way.

Each serves the process the process manager runs for its bridge
(:data:`controlroom.processes.bridge.BRIDGES`) in the foreground, with this
command's Settings and ``--debug``, until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

from typing import Any

import typer

from controlroom.cli.context import cli_state
from controlroom.cli.errors import CliError, reported
from controlroom.cli.options import Handoff, keyword, with_parameters


def add_bridge_run(app: typer.Typer, name: str, help_text: str, **options: Any) -> None:
    """Give bridge ``name``'s group its ``run``, taking ``options`` (name: option type,
    each None unless given) and passing them on."""

    def run(ctx: typer.Context, **values: Any) -> None:
        from controlroom.bridges import BridgeError  # the bridges only where one is run
        from controlroom.processes.bridge import BRIDGES

        state = cli_state(ctx)
        try:
            BRIDGES[name](state.settings, debug=state.debug, **values)
        except BridgeError as exc:  # cannot start or serve: one line, like a failed command
            raise CliError(str(exc)) from None

    parameters = [keyword(option, kind) for option, kind in options.items()]
    command = with_parameters(run, *parameters, keyword("handoff_stdout", Handoff, False))
    app.command("run", help=help_text)(reported(command))
