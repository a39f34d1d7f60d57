"""Serving the app with uvicorn, announcing the URL once it really listens.

:func:`serve` blocks until Ctrl-C or SIGTERM (uvicorn's own handlers). The
announcement is made from uvicorn's startup, after the sockets are bound and
the app's lifespan (the hub) has started, so a parent waiting for it needs no
guessing: the URL has the actual port when the port asked for was 0.

The panel serves HTTPS (and only HTTPS) when :func:`~.app.create_app` found a
certificate and key in the Settings (``app.state.tls``, checked for the
address it will listen on); the announced URL then says ``https://``.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from controlroom.web.config import TlsFiles

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
            scheme = "https" if self.config.is_ssl else "http"
            self.announce(listening_url([s.getsockname() for s in bound], scheme))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn re-raises the signal after its clean shutdown, so the process would end
        # "killed by SIGTERM"; like every other service, a stop on request exits with 0.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


def serve(app: Any, host: str, port: int, announce: Announce, *, debug: bool = False) -> bool:
    """Serve ``app`` on ``host:port`` until stopped; False if it never started listening."""

    def started(url: str) -> None:
        # What the process holds once it listens (modules, the app, the hub) lives as
        # long as it does: out of every later full collection, which with hundreds of
        # sockets open pauses the loop for 100 ms and more, a third of it for this.
        gc.freeze()
        announce(url)

    server = panel_server(app, host, port, started, debug=debug)
    server.run()
    return bool(server.started)


def panel_server(
    app: Any, host: str, port: int, announce: Announce, *, debug: bool = False
) -> AnnouncingServer:
    """The server :func:`serve` runs (tests run it in a thread and set ``should_exit``)."""
    tls = tls_of(app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="debug" if debug else "warning",
        lifespan="on",
        proxy_headers=False,  # behind a TLS proxy, configure forwarded headers there
        # Compressing is per socket (each has its own zlib stream): with hundreds of
        # pages open it was over a third of what sending a change cost, to save
        # bandwidth a lab's network does not miss (a page gets a few kB/s of HK).
        ws_per_message_deflate=False,
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
    )
    return AnnouncingServer(config, announce)


def tls_of(app: Any) -> TlsFiles | None:
    """The certificate and key :func:`~.app.create_app` checked for ``app``; None: plain HTTP."""
    tls = getattr(getattr(app, "state", None), "tls", None)
    return tls if isinstance(tls, TlsFiles) else None


def listening_url(addresses: list[Any], scheme: str = "http") -> str:
    """The URL clients reach the first address at (a wildcard bind is reached on loopback)."""
    host, port = str(addresses[0][0]), int(addresses[0][1])
    if host in ("0.0.0.0", ""):  # noqa: S104 - reading a bound address, not binding
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}/"
