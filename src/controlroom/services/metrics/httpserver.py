"""The HTTP endpoint that serves one registry's ``/metrics``.

prometheus_client's ``start_http_server`` would do, but its serve loop polls
for shutdown every 0.5 s, its request threads are never joined, and binding
resolves the host's fully qualified name, which can hang on a lab network
without DNS. This small server keeps its WSGI app and fixes those three: its
loop sleeps until a request or :meth:`MetricsHttpServer.stop` comes (a
hundred idle servers on a host wake for nothing), and it joins its threads.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from controlroom.rpc.wakeup import WakePipe
from controlroom.services.metrics.errors import MetricsAddressError

_CLIENT_TIMEOUT_S = 5.0  # a client that stalls mid-request cannot hold stop() for longer

# Wildcard binds are reached by local clients through loopback (as in rpc.endpoints).
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (no bind)


class _QuietHandler(WSGIRequestHandler):
    """A request handler that neither logs every scrape nor waits forever on a client."""

    timeout = _CLIENT_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Prometheus scrapes every few seconds: an access line each time is noise."""


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request; ``server_close`` joins them, so no thread is left."""

    daemon_threads = False
    block_on_close = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the FQDN of the address; skip the DNS query.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


class _Server6(_Server):
    address_family = socket.AF_INET6


class MetricsHttpServer:
    """Serve ``registry`` over HTTP on ``host:port`` (0: the OS picks) in a thread."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int, *, name: str) -> None:
        server_class = _Server6 if ":" in host else _Server
        try:
            self._httpd = make_server(
                host, port, make_wsgi_app(registry), server_class, _QuietHandler
            )
        except OSError as exc:
            raise MetricsAddressError(f"cannot serve metrics on {host}:{port}: {exc}") from exc
        self.host = host
        self._httpd.timeout = 0  # handle_request() is only called once a client waits
        self._wake = WakePipe()
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name=f"{name}-metrics", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd, selectors.EVENT_READ)
            selector.register(self._wake.fd, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj == self._wake.fd:
                        return
                    self._httpd.handle_request()

    @property
    def port(self) -> int:
        """The port actually bound (the one the OS picked when 0 was asked for)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Where a local client scrapes: ``http://host:port/metrics``."""
        host = _LOOPBACK.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving, close the socket and join every thread this server started."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.nudge()
        self._thread.join()
        self._httpd.server_close()
