"""The one small interface between a controller and how it reaches its device."""

from __future__ import annotations

import contextlib
import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from controlroom.device.errors import ArgumentError, ReplyError


@runtime_checkable
class Transport(Protocol):
    """A text connection to one instrument.

    Controllers only ever use these methods; which transport sits behind them
    (TCP, serial, VISA, in-process) is chosen when the controller is built.
    Every method raises :class:`~controlroom.device.errors.TransportError` (or its
    :class:`~controlroom.device.errors.DeviceTimeout` subclass), never a bare
    ``OSError``.
    """

    @property
    def is_connected(self) -> bool: ...

    def connect(self) -> None:
        """Open the connection; idempotent."""

    def close(self) -> None:
        """Close the connection; idempotent."""

    def write(self, command: str) -> None:
        """Send one command; the transport adds the write terminator."""

    def read(self) -> str:
        """Read one reply, without its terminator."""

    def query(self, command: str) -> str:
        """Send one command and read its reply as one exchange."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class LockedTransport:
    """The half every shipped transport shares: one lock makes each call one whole exchange.

    A subclass says how its link opens and closes, how one command goes out and
    one reply comes in; ``_guard`` turns its library's exceptions into
    :class:`~controlroom.device.errors.TransportError` around each call.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def connect(self) -> None:
        with self._lock:
            self._open_link()

    def close(self) -> None:
        with self._lock:
            self._close_link()

    def write(self, command: str) -> None:
        one_line(command)
        with self._lock, self._guard(f"sending {command!r}"):
            self._send(command)

    def read(self) -> str:
        with self._lock, self._guard("reading"):
            return self._receive()

    def query(self, command: str) -> str:
        one_line(command)
        with self._lock, self._guard(f"querying {command!r}"):
            self._send(command)
            return self._receive()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, action: str) -> AbstractContextManager[object]:
        """Where the link's library raises its own exceptions, turn them into ours."""
        return contextlib.nullcontext()

    def _open_link(self) -> None:
        """Open the link unless it is open; called with the lock held."""
        raise NotImplementedError

    def _close_link(self) -> None:
        """Close the link if it is open; called with the lock held."""
        raise NotImplementedError

    def _send(self, command: str) -> object:
        raise NotImplementedError

    def _receive(self) -> str:
        raise NotImplementedError


def one_line(command: str) -> None:
    """Refuse a command holding a line break: the instrument would read two commands.

    An argument a client passed (a name, a label) could otherwise smuggle a
    second command onto the wire after the one the driver meant to send.
    """
    if "\n" in command or "\r" in command:
        raise ArgumentError(f"a command is one line; {command[:60]!r} holds a line break")


def encode_line(command: str, terminator: str, encoding: str) -> bytes:
    """``command`` and its terminator as bytes, for a transport that sends bytes itself."""
    try:
        return (command + terminator).encode(encoding)
    except UnicodeEncodeError as exc:
        raise ArgumentError(f"{command!r} cannot be sent as {encoding}") from exc


def decode_line(line: bytes, encoding: str, source: str) -> str:
    """A reply line received from ``source`` (its URL), without its terminator, as text."""
    try:
        return line.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReplyError(f"{source} sent {line!r}, which is not {encoding}") from exc
