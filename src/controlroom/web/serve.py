"""Serving the app with uvicorn, announcing the URL once it really listens.

:func:`serve` blocks until Ctrl-C or SIGTERM (uvicorn's own handlers). The
announcement is made from uvicorn's startup, after the sockets are bound and
the app's lifespan (the hub) has started, so a parent waiting for it needs no
guessing: the URL has the actual port when the port asked for was 0.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

Announce = Callable[[str], None]


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``announce(url)`` once it listens."""

    def __init__(self, config: uvicorn.Config, announce: Announce) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            bound = [s for server in self.servers for s in server.sockets]
            self.announce(listening_url([s.getsockname() for s in bound]))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises the signal after its clean shutdown, so the process would end
        # "killed by SIGTERM"; like every other service, a stop on request exits with 0.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def serve(app: Any, host: str, port: int, announce: Announce, *, debug: bool = False) -> bool:
    """Serve ``app`` on ``host:port`` until stopped; False if it never started listening."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="debug" if debug else "warning",
        lifespan="on",
        proxy_headers=False,  # behind a TLS proxy, configure forwarded headers there
    )
    server = AnnouncingServer(config, announce)
    server.run()
    return bool(server.started)


def listening_url(addresses: list[Any]) -> str:
    """The URL clients reach the first address at (a wildcard bind is reached on loopback)."""
    host, port = str(addresses[0][0]), int(addresses[0][1])
    if host in ("0.0.0.0", ""):  # noqa: S104 - reading a bound address, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"
