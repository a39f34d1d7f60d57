"""``controlroom confman``: run, start and stop the configuration manager."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer

from controlroom.cli.context import CliState
from controlroom.cli.services import add_service_commands, service_endpoints
from controlroom.device.proxy import make_proxy

NAME = "confman"

confman_app = typer.Typer(help="Run, start and stop the configuration manager (Setups, obsids).")
add_service_commands(confman_app, NAME)


@contextlib.contextmanager
def confman_proxy(state: CliState, timeout: float | None = None) -> Iterator[Any]:
    """A proxy for the configuration manager, closed at the end of the ``with``.

    Typed ``Any``: its methods are made from ``ConfigurationManager`` at run time.
    """
    from controlroom.services.confman.server import ConfigurationManager

    proxy_timeout = timeout or float(state.settings["defaults"]["proxy_timeout_s"])
    endpoint = service_endpoints(state, NAME).commands
    proxy = make_proxy(ConfigurationManager, endpoint, name=NAME, timeout=proxy_timeout)
    try:
        yield proxy
    finally:
        proxy.close()
