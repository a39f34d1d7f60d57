"""Serving an instrument simulator: newline-terminated text over TCP, and its command line.

Most lab instruments take one command per line and answer some of them with one
line. A subclass implements :meth:`LineSimulator.handle_line`; this module does the
sockets: one listener thread and one thread per client (an instrument sees few
clients, and a blocked client must not stall the others), or one client at a time
(:class:`OneClientSimulator`) for an instrument that accepts a single connection.
:func:`simulator_parser` and :func:`parse_simulator_args` give every simulator's
``python -m`` entry point the same options; :func:`run_simulator` serves until a signal,
after a ready line that :func:`parse_ready_line` reads.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TextIO

from controlroom.rpc.lifecycle import Startable

_LOG = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
"""Longer input lines are logged and dropped, like an instrument's input buffer overflow."""

_RECV_BYTES = 4096
_JOIN_TIMEOUT_S = 5.0


class LineSimulator(Startable):
    """A TCP server speaking newline-terminated text commands, like most lab instruments.

    ``terminator`` ends every reply; input lines may end with ``\\r\\n`` or ``\\n``
    (``\\r`` alone when the terminator is ``\\r``), or with ``line_end`` when an
    instrument ends its replies differently from its commands (a PMAC reads
    commands up to ``\\r`` and ends each reply with ``ACK``). Empty input lines are
    ignored.
    Calls to :meth:`handle_line` from the served clients are serialised, so a
    subclass only needs its own lock if it is also called directly from
    several threads (an in-process transport calls it without any socket).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        terminator: str = "\n",
        encoding: str = "ascii",
        line_end: str | None = None,
    ) -> None:
        if not terminator:
            raise ValueError("terminator must not be empty")
        if line_end is not None and len(line_end) != 1:
            raise ValueError("line_end must be one character")
        self._host = host
        self._port = port
        self._terminator = terminator
        self._encoding = encoding
        self._separator = (line_end or terminator[-1]).encode(encoding)
        self._handle_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._accept_thread: threading.Thread | None = None
        self._clients: dict[socket.socket, threading.Thread] = {}
        self._stopping = threading.Event()

    def handle_line(self, line: str) -> str | None:
        """Execute one command line; return the reply (without terminator) or None."""
        raise NotImplementedError

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port once started, else the requested one (0: any free port)."""
        return self._port

    @property
    def is_running(self) -> bool:
        return self._listener is not None

    def start(self) -> int:
        """Bind, serve in background threads and return the bound port; non-blocking."""
        with self._state_lock:
            if self._listener is not None:
                return self._port
            family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
            listener = socket.create_server((self._host, self._port), family=family, backlog=8)
            self._port = listener.getsockname()[1]
            self._listener = listener
            self._wake = socket.socketpair()
            self._stopping.clear()
            self._accept_thread = threading.Thread(
                target=self._accept_loop,
                args=(listener, self._wake[0]),
                name=f"{type(self).__name__}-accept-{self._port}",
                daemon=True,
            )
            self._accept_thread.start()
        _LOG.info("%s listening on %s:%d", type(self).__name__, self._host, self._port)
        return self._port

    def stop(self) -> None:
        """Close the listener and every client connection, and join all threads; idempotent."""
        with self._state_lock:
            listener, wake, accept_thread = self._listener, self._wake, self._accept_thread
            self._listener, self._wake, self._accept_thread = None, None, None
            self._stopping.set()
            clients = dict(self._clients)
        if listener is None or wake is None:
            return
        # A blocked accept() is not reliably woken by close() on every OS; the wake pair is.
        wake[1].send(b"x")
        if accept_thread is not None:
            _join(accept_thread)
        listener.close()
        for pair_end in wake:
            pair_end.close()
        for conn, thread in clients.items():
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv()
            _join(thread)
        _LOG.info("%s on port %d stopped", type(self).__name__, self._port)

    def _accept_loop(self, listener: socket.socket, wake: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                ready = {key.fileobj for key, _ in selector.select()}
                if wake in ready:
                    return
                self._accept_one(listener)

    def _accept_one(self, listener: socket.socket) -> None:
        try:
            conn, peer = listener.accept()
        except OSError as exc:
            _LOG.warning("accept failed: %s", exc)
            return
        thread = threading.Thread(
            target=self._serve_client,
            args=(conn, peer),
            name=f"{type(self).__name__}-client-{peer}",
            daemon=True,
        )
        with self._state_lock:
            if self._stopping.is_set():
                conn.close()
                return
            self._clients[conn] = thread
        thread.start()

    def _serve_client(self, conn: socket.socket, peer: object) -> None:
        _LOG.info("client %s connected", peer)
        try:
            for raw in self._read_lines(conn):
                reply = self._reply_to(raw)
                if reply is not None:
                    conn.sendall((reply + self._terminator).encode(self._encoding, "replace"))
        except OSError as exc:
            # A client that vanishes mid-exchange is routine for an instrument, not a failure.
            _LOG.info("client %s dropped: %s", peer, exc)
        finally:
            with self._state_lock:
                self._clients.pop(conn, None)
            conn.close()
            _LOG.info("client %s disconnected", peer)

    def _read_lines(self, conn: socket.socket) -> Iterator[bytes]:
        buffer = bytearray()
        discarding = False
        while chunk := conn.recv(_RECV_BYTES):
            buffer += chunk
            *lines, rest = bytes(buffer).split(self._separator)
            buffer = bytearray(rest)
            for line in lines:
                if discarding:
                    discarding = False  # the tail of an over-long line
                elif len(line) > MAX_LINE_BYTES:
                    _LOG.warning("ignored a %d-byte line (limit %d)", len(line), MAX_LINE_BYTES)
                else:
                    yield line
            if len(buffer) > MAX_LINE_BYTES:
                if not discarding:
                    _LOG.warning("ignoring a line longer than %d bytes", MAX_LINE_BYTES)
                discarding = True
                buffer.clear()

    def _reply_to(self, raw: bytes) -> str | None:
        try:
            line = raw.decode(self._encoding).strip("\r\n")
        except UnicodeDecodeError:
            _LOG.warning("ignored an undecodable line: %r", raw[:80])
            return None
        if not line:
            return None
        try:
            with self._handle_lock:
                return self.handle_line(line)
        except Exception:
            # One bad command must not take the instrument off the network.
            _LOG.exception("handle_line failed on %r", line)
            return None


def run_simulator(sim: LineSimulator, *, ready_stream: TextIO = sys.stdout) -> None:
    """Start, print exactly one ready line `READY <host> <port>` (flushed) so a parent process
    can wait for it, serve until SIGINT/SIGTERM, stop cleanly, return.

    Must be called from the main thread (it installs signal handlers, restored on return).
    """
    wake_read, wake_write = socket.socketpair()
    wake_write.setblocking(False)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only a non-blocking send here: a signal handler must not take locks.
        with contextlib.suppress(OSError):  # a full pipe means we are already woken
            wake_write.send(bytes([signum]))

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sim.start()
        ready_stream.write(f"READY {sim.host} {sim.port}\n")
        ready_stream.flush()
        signum = wake_read.recv(1)[0]
        _LOG.info("received signal %d, stopping", signum)
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        wake_read.close()
        wake_write.close()


def parse_ready_line(line: str) -> tuple[str, int] | None:
    """``READY <host> <port>``, as :func:`run_simulator` prints it -> (host, port); None for
    any other line."""
    parts = line.split()
    if len(parts) == 3 and parts[0] == "READY" and parts[2].isascii() and parts[2].isdigit():
        return parts[1], int(parts[2])
    return None


class OneClientSimulator(LineSimulator):
    """:class:`LineSimulator` with one session at a time; later clients wait their turn.

    While a client is connected, a second one is not accepted: its TCP connect
    succeeds (the operating system queues it in the listen backlog) but nothing
    answers it until the first client disconnects, and then it is served.
    :meth:`end_session` hangs up on the client, which frees the place at once.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **line: str) -> None:
        super().__init__(host, port, **line)
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
        """Hang up on the connected client; nothing if there is none."""
        session = self._session
        if session is not None:
            with contextlib.suppress(OSError):  # the client may have gone already
                session.shutdown(socket.SHUT_RDWR)

    def _accept_one(self, listener: socket.socket) -> None:
        # Not accepting leaves the next client in the backlog, as such hardware does.
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


def simulator_parser(description: str | None, default_port: int) -> argparse.ArgumentParser:
    """The options every simulator takes: ``--host``, ``--port``, ``--speed``, ``--log-level``.

    ``description`` is the simulator module's docstring; its first line heads ``--help``.
    """
    parser = argparse.ArgumentParser(
        description=description.splitlines()[0] if description else None
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="TCP port (0: any free)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--log-level", default="WARNING", help="logging level on stderr")
    return parser


def parse_simulator_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Parse the command line, refuse a non-positive ``--speed`` and log to stderr."""
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be positive")
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return args


def _join(thread: threading.Thread) -> None:
    thread.join(_JOIN_TIMEOUT_S)
    if thread.is_alive():
        _LOG.error("thread %s did not stop within %.0f s", thread.name, _JOIN_TIMEOUT_S)
