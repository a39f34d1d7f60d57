"""A line simulator that, like the OGSE hardware, serves one client at a time.

The OGSE controller accepts a single connection. While a client is
connected, a second one is not accepted: its TCP connect succeeds (the
operating system queues it in the listen backlog) but nothing answers it
until the first client disconnects, and then it is served. A client that
sends ``exit`` or ``quit`` is hung up on, which frees the place at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from controlroom.device.simulator import LineSimulator


class OneClientSimulator(LineSimulator):
    """:class:`LineSimulator` with one session at a time; later clients wait their turn."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        terminator: str = "\n",
        encoding: str = "ascii",
    ) -> None:
        super().__init__(host, port, terminator=terminator, encoding=encoding)
        self._free = threading.Event()
        self._free.set()
        self._closing = False
        self._session: socket.socket | None = None

    @property
    def has_client(self) -> bool:
        """True while a client holds the session."""
        return not self._free.is_set()

    def start(self) -> int:
        self._closing = False
        return super().start()

    def stop(self) -> None:
        # The accept thread may be waiting for the session to end: let it see the stop.
        self._closing = True
        self._free.set()
        super().stop()

    def end_session(self) -> None:
        """Hang up on the connected client (``exit``/``quit``); nothing if there is none."""
        session = self._session
        if session is not None:
            with contextlib.suppress(OSError):  # the client may have gone already
                session.shutdown(socket.SHUT_RDWR)

    def _accept_one(self, listener: socket.socket) -> None:
        # Not accepting leaves the next client in the backlog, as the hardware does.
        self._free.wait()
        if self._closing:
            return
        self._free.clear()
        super()._accept_one(listener)
        with self._state_lock:
            started = bool(self._clients)
        if not started:  # the accept failed or we are stopping: no session began
            self._free.set()

    def _serve_client(self, conn: socket.socket, peer: object) -> None:
        self._session = conn
        try:
            super()._serve_client(conn, peer)
        finally:
            self._session = None
            self._free.set()
