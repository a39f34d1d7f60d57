"""TcpTransport against a small line server on loopback, one thread per connection."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from controlroom.device.errors import ArgumentError, DeviceTimeout, ReplyError, TransportError
from controlroom.device.transports import Transport
from controlroom.device.transports.tcp import Backoff, LineBuffer, TcpTransport

_WAIT = 5.0  # upper bound for real conditions; tests normally pass in milliseconds


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.owner.serve(self.request, self.rfile)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    owner: LineServer


class LineServer:
    """A fake device: PING -> PONG, SET x -> (nothing), other commands -> ECHO:<cmd>.

    SPLIT answers in pieces, TWO answers two lines in one packet, SLOW answers
    only once ``release`` is set, BYE hangs up.
    """

    def __init__(self, port: int = 0) -> None:
        self.release = threading.Event()
        self.late_reply_sent = threading.Event()
        self.received: list[str] = []
        self.connections = 0
        self._stopping = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.start()

    def serve(self, conn: socket.socket, rfile: Any) -> None:
        with self._lock:
            if self._stopping:
                return
            self.connections += 1
            self._open.add(conn)
        try:
            for raw in rfile:
                if not self._answer(conn, raw.decode().rstrip("\n")):
                    break
        except OSError:
            pass  # the client went away, as some tests make it do
        finally:
            with self._lock:
                self._open.discard(conn)

    def _answer(self, conn: socket.socket, line: str) -> bool:
        with self._lock:
            self.received.append(line)
        if line == "BYE":
            return False
        if line == "SPLIT":
            for piece in (b"12.", b"5", b"\n"):
                conn.sendall(piece)
                time.sleep(0.02)  # makes separate recv calls likely; the test holds either way
        elif line == "TWO":
            conn.sendall(b"A\nB\n")
        elif line == "SLOW":
            self.release.wait(_WAIT)
            try:
                conn.sendall(b"late\n")
            finally:
                self.late_reply_sent.set()
        elif line == "PING":
            conn.sendall(b"PONG\n")
        elif line == "BAD":
            conn.sendall(b"\xff\n")
        elif not line.startswith("SET "):
            conn.sendall(f"ECHO:{line}\n".encode())
        return True

    def hang_up_all(self, *, stopping: bool = False) -> None:
        """Close every open connection from the server side."""
        with self._lock:
            # Set under the lock so no connection thread can slip in afterwards.
            self._stopping = self._stopping or stopping
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self.hang_up_all(stopping=True)
        self._server.server_close()  # joins the connection threads
        self._thread.join(_WAIT)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_server() -> Iterator[Callable[..., LineServer]]:
    servers: list[LineServer] = []

    def make(port: int = 0) -> LineServer:
        servers.append(LineServer(port))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LineServer]) -> LineServer:
    return make_server()


@pytest.fixture
def make_transport() -> Iterator[Callable[..., TcpTransport]]:
    transports: list[TcpTransport] = []

    def make(port: int, **options: Any) -> TcpTransport:
        transports.append(TcpTransport("127.0.0.1", port, **{"timeout": 1.0, **options}))
        transports[-1].connect()
        return transports[-1]

    yield make
    for transport in transports:
        transport.close()


def test_line_buffer_handles_split_and_joined_lines() -> None:
    buffer = LineBuffer(b"\r\n")
    buffer.feed(b"12.")
    assert buffer.pop_line() is None
    buffer.feed(b"5\r")
    assert buffer.pop_line() is None
    buffer.feed(b"\nA\r\nB\r\n")
    assert [buffer.pop_line(), buffer.pop_line(), buffer.pop_line()] == [b"12.5", b"A", b"B"]
    assert buffer.pop_line() is None


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    clock = FakeClock()
    backoff = Backoff(0.1, 0.3, clock)
    assert backoff.wait_left() == 0.0
    assert [backoff.failed(), backoff.failed(), backoff.failed()] == [0.1, 0.2, 0.3]
    assert backoff.wait_left() == pytest.approx(0.3)
    clock.now += 0.3
    assert backoff.wait_left() == 0.0
    backoff.succeeded()
    assert backoff.failed() == 0.1


def test_is_a_transport(server: LineServer, make_transport: Callable[..., TcpTransport]) -> None:
    transport = make_transport(server.port)
    assert isinstance(transport, Transport)
    assert transport.is_connected
    assert transport.url == f"tcp://127.0.0.1:{server.port}"


def test_query_write_and_read(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    assert transport.query("PING") == "PONG"
    transport.write("SET 5")
    transport.write("hello")
    assert transport.read() == "ECHO:hello"
    assert server.received == ["PING", "SET 5", "hello"]


def test_a_command_with_a_line_break_is_refused_before_sending(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    for send in (transport.query, transport.write):
        with pytest.raises(ArgumentError, match="holds a line break"):
            send("VOLT?\n*RST")
    assert transport.query("PING") == "PONG"
    assert server.received == ["PING"]


def test_reply_split_over_several_packets(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    assert make_transport(server.port).query("SPLIT") == "12.5"


def test_two_replies_in_one_packet(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    assert transport.query("TWO") == "A"
    assert transport.read() == "B"
    assert transport.query("PING") == "PONG"


def test_custom_terminators(make_transport: Callable[..., TcpTransport]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        transport = make_transport(
            listener.getsockname()[1], write_terminator="\r", read_terminator="\r\n"
        )
        conn, _ = listener.accept()
        with conn:
            transport.write("*IDN?")
            assert conn.recv(64) == b"*IDN?\r"
            conn.sendall(b"ACME,1\nX\r\n")
            assert transport.read() == "ACME,1\nX"


def test_timeout_then_next_query_gets_its_own_reply(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port, timeout=0.2)
    with pytest.raises(DeviceTimeout):
        transport.query("SLOW")
    server.release.set()
    assert server.late_reply_sent.wait(_WAIT)
    assert transport.query("PING") == "PONG"


def test_device_hang_up_is_followed_by_a_reconnect(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    assert transport.query("PING") == "PONG"
    server.hang_up_all()
    assert transport.query("PING") == "PONG"
    assert server.connections == 2


def test_hang_up_while_waiting_for_a_reply(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    with pytest.raises(TransportError, match="closed the connection"):
        transport.query("BYE")
    assert not transport.is_connected
    assert transport.query("PING") == "PONG"


def test_without_reconnect_a_lost_connection_stays_closed(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port, reconnect=False)
    assert transport.query("PING") == "PONG"  # the server has this connection now
    server.hang_up_all()
    with pytest.raises(TransportError, match="not connected"):
        transport.query("PING")
    transport.connect()
    assert transport.query("PING") == "PONG"


def test_backoff_fails_fast_then_reconnects_when_the_device_returns(
    make_server: Callable[..., LineServer], make_transport: Callable[..., TcpTransport]
) -> None:
    clock = FakeClock()
    server = make_server()
    transport = make_transport(server.port, clock=clock, backoff_initial=0.5, backoff_max=1.0)
    server.stop()

    with pytest.raises(TransportError, match="cannot connect"):
        transport.query("PING")  # notices the hang-up, tries at once, is refused
    with pytest.raises(TransportError, match=r"not retrying for another 0\.5 s"):
        transport.query("PING")
    clock.now += 0.5
    with pytest.raises(TransportError, match="cannot connect"):
        transport.query("PING")
    with pytest.raises(TransportError, match=r"not retrying for another 1 s"):
        transport.query("PING")

    returned = make_server(server.port)
    with pytest.raises(TransportError, match="not retrying"):
        transport.query("PING")  # still inside the window
    clock.now += 1.0
    assert transport.query("PING") == "PONG"

    returned.stop()  # after a success, the backoff starts again from the beginning
    with pytest.raises(TransportError, match="cannot connect"):
        transport.query("PING")
    with pytest.raises(TransportError, match=r"not retrying for another 0\.5 s"):
        transport.query("PING")


def test_explicit_connect_ignores_the_backoff_window(
    make_server: Callable[..., LineServer], make_transport: Callable[..., TcpTransport]
) -> None:
    server = make_server()
    transport = make_transport(server.port, clock=FakeClock(), backoff_initial=5.0)
    server.stop()
    with pytest.raises(TransportError, match="cannot connect"):
        transport.query("PING")
    make_server(server.port)
    with pytest.raises(TransportError, match="not retrying"):
        transport.query("PING")
    transport.connect()
    assert transport.query("PING") == "PONG"


def test_concurrent_queries_each_get_their_own_reply(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)

    def ask(worker: int) -> list[str]:
        return [transport.query(f"w{worker}-{i}") for i in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, range(8)))
    for worker, replies in enumerate(results):
        assert replies == [f"ECHO:w{worker}-{i}" for i in range(50)]


def test_closed_transport_refuses_calls(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    transport.close()
    transport.close()  # idempotent
    assert not transport.is_connected
    with pytest.raises(TransportError, match="not connected"):
        transport.query("PING")


def test_context_manager_connects_and_closes(server: LineServer) -> None:
    with TcpTransport("127.0.0.1", server.port) as transport:
        assert transport.query("PING") == "PONG"
    assert not transport.is_connected


def test_nobody_listening_is_a_transport_error(make_server: Callable[..., LineServer]) -> None:
    server = make_server()
    server.stop()
    transport = TcpTransport("127.0.0.1", server.port)
    with pytest.raises(TransportError, match="cannot connect") as caught:
        transport.connect()
    assert isinstance(caught.value.__cause__, OSError)
    assert not transport.is_connected


def test_text_that_does_not_fit_the_encoding(
    server: LineServer, make_transport: Callable[..., TcpTransport]
) -> None:
    transport = make_transport(server.port)
    with pytest.raises(ArgumentError):
        transport.write("temp \u00b0C")
    with pytest.raises(ReplyError):
        transport.query("BAD")
    assert transport.query("PING") == "PONG"


def test_bad_backoff_settings_are_refused() -> None:
    with pytest.raises(ArgumentError):
        TcpTransport("127.0.0.1", 1, backoff_initial=2.0, backoff_max=1.0)
