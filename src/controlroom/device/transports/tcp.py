"""Line-based text transport over TCP, with reconnect and backoff.

Lab networks drop connections and devices get power-cycled, so a lost
connection is reopened by the transport rather than breaking its control server.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator

from controlroom.device.errors import ArgumentError, DeviceTimeout, TransportError
from controlroom.device.transports.base import (
    LockedTransport,
    decode_line,
    encode_line,
    one_line,
)

_LOG = logging.getLogger(__name__)
_CHUNK = 4096


class LineBuffer:
    """Received bytes cut into lines: a reply may span ``recv`` calls, or share one."""

    def __init__(self, terminator: bytes) -> None:
        self._terminator = terminator
        self._data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._data += chunk

    def pop_line(self) -> bytes | None:
        """Remove and return the first complete line, or None if there is none yet."""
        end = self._data.find(self._terminator)
        if end < 0:
            return None
        line = bytes(self._data[:end])
        del self._data[: end + len(self._terminator)]
        return line

    def clear(self) -> None:
        self._data.clear()


class Backoff:
    """Exponential delay between failed reconnect attempts, reset by a success."""

    def __init__(self, initial: float, maximum: float, clock: Callable[[], float]) -> None:
        if initial <= 0 or maximum < initial:
            raise ArgumentError(f"need 0 < backoff_initial <= backoff_max: {initial}, {maximum}")
        self._initial = initial
        self._maximum = maximum
        self._clock = clock
        self._delay = initial
        self._next_attempt: float | None = None

    def wait_left(self) -> float:
        """Seconds before the next attempt is allowed; 0 when it is."""
        if self._next_attempt is None:
            return 0.0
        return max(0.0, self._next_attempt - self._clock())

    def failed(self) -> float:
        """Record a failed attempt and return the delay before the next one."""
        delay = self._delay
        self._next_attempt = self._clock() + delay
        self._delay = min(delay * 2, self._maximum)
        return delay

    def succeeded(self) -> None:
        self._delay = self._initial
        self._next_attempt = None


class TcpTransport(LockedTransport):
    """One line-based connection to an instrument at ``host:port``; ``query`` is thread-safe.

    A lost connection is reopened on the next call (unless ``reconnect`` is false);
    inside the backoff window after a failed attempt, calls fail at once. A late
    reply could answer the next query, so a timeout drops the connection too.
    ``clock`` times the backoff only.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        write_terminator: str = "\n",
        read_terminator: str = "\n",
        timeout: float = 2.0,
        encoding: str = "ascii",
        connect_timeout: float = 2.0,
        reconnect: bool = True,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.url = f"tcp://{host}:{port}"
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self._address = (host, port)
        self._encoding = encoding
        self._write_terminator = write_terminator
        self._buffer = LineBuffer(read_terminator.encode(encoding))
        self._backoff = Backoff(backoff_initial, backoff_max, clock)
        self._sock: socket.socket | None = None
        # True between connect() and close(): only then may a lost link be reopened.
        self._wanted = False

    @property
    def is_connected(self) -> bool:
        return self._sock is not None

    def query(self, command: str) -> str:
        # The reply is awaited on the socket the command left by: were the device to hang
        # up meanwhile, a reopened connection would only wait for a reply that never comes.
        one_line(command)
        with self._lock:
            return self._decode(self._receive_line(self._send(command)))

    def _open_link(self) -> None:
        """Open the connection now, even inside a backoff window."""
        self._wanted = True
        if self._sock is None:
            self._open()

    def _close_link(self) -> None:
        """Close the connection and stop reconnecting."""
        self._wanted = False
        self._discard_socket()

    def _receive(self) -> str:
        # A line already buffered is served even if the device hung up since.
        line = self._buffer.pop_line()
        if line is None:
            line = self._receive_line(self._ensure_connected())
        return self._decode(line)

    def _ensure_connected(self) -> socket.socket:
        if self._sock is not None and _peer_closed(self._sock):
            self._lose("closed by the device")
        if self._sock is not None:
            return self._sock
        if not self._wanted:
            raise TransportError(f"{self.url} is not connected")
        wait = self._backoff.wait_left()
        if wait > 0:
            raise TransportError(f"{self.url} unreachable; not retrying for another {wait:.2g} s")
        return self._open()

    def _open(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            delay = self._backoff.failed()
            _LOG.warning("cannot connect to %s: %s; next attempt in %.2g s", self.url, exc, delay)
            raise TransportError(f"cannot connect to {self.url}: {exc}") from exc
        self._backoff.succeeded()
        self._sock = sock
        _LOG.info("connected to %s", self.url)
        return sock

    def _lose(self, reason: str) -> None:
        _LOG.warning("lost connection to %s: %s", self.url, reason)
        self._discard_socket()
        if not self.reconnect:
            self._wanted = False

    def _discard_socket(self) -> None:
        sock, self._sock = self._sock, None
        self._buffer.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _send(self, command: str) -> socket.socket:
        data = encode_line(command, self._write_terminator, self._encoding)
        sock = self._ensure_connected()
        _LOG.debug("%s <- %r", self.url, command)
        with self._dropped_on_failure(
            late="send timed out",
            timed_out=f"{self.url} did not take {command!r} in time",
            failed=f"cannot send {command!r} to {self.url}",
        ):
            sock.settimeout(self.timeout)
            sock.sendall(data)
        return sock

    def _receive_line(self, sock: socket.socket) -> bytes:
        deadline = time.monotonic() + self.timeout
        while (line := self._buffer.pop_line()) is None:
            self._buffer.feed(self._recv_chunk(sock, deadline))
        return line

    def _decode(self, line: bytes) -> str:
        reply = decode_line(line, self._encoding, self.url)
        _LOG.debug("%s -> %r", self.url, reply)
        return reply

    def _recv_chunk(self, sock: socket.socket, deadline: float) -> bytes:
        with self._dropped_on_failure(
            late="no reply in time",
            timed_out=f"no reply from {self.url} within {self.timeout} s",
            failed=f"cannot read from {self.url}",
        ):
            sock.settimeout(max(deadline - time.monotonic(), 1e-6))
            chunk = sock.recv(_CHUNK)
        if not chunk:
            self._lose("closed by the device")
            raise TransportError(f"{self.url} closed the connection")
        return chunk

    @contextlib.contextmanager
    def _dropped_on_failure(self, *, late: str, timed_out: str, failed: str) -> Iterator[None]:
        """Drop the connection when the socket fails or times out, and say so as ours.

        After a timeout the late reply may still come; only a fresh connection
        is sure not to see it.
        """
        try:
            yield
        except TimeoutError as exc:
            self._lose(late)
            raise DeviceTimeout(timed_out) from exc
        except OSError as exc:
            self._lose(str(exc))
            raise TransportError(f"{failed}: {exc}") from exc


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the device closed its end, checked without blocking."""
    # Otherwise a command written after a hang-up vanishes into the dead socket.
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
