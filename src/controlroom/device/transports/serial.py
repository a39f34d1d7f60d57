"""Line-based text transport over a serial port, on pyserial.

The port is opened with ``serial.serial_for_url``, so besides device names
(``/dev/ttyUSB0``, ``COM3``) any pyserial URL works: ``socket://`` for
serial-to-Ethernet converters, ``rfc2217://``, and ``loop://`` for tests.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

# This module is controlroom.device.transports.serial; absolute imports make
# ``serial`` mean pyserial, never this file.
import serial

from controlroom.device.errors import ArgumentError, DeviceTimeout, TransportError
from controlroom.device.transports.base import LockedTransport, decode_line, encode_line

_LOG = logging.getLogger(__name__)


class SerialTransport(LockedTransport):
    """One line-based serial connection; ``query`` is one atomic exchange across threads.

    A reply that times out may still arrive later; the bytes waiting at the
    next command are then discarded so that they cannot pass for its reply.
    After a port error the port is closed and :meth:`connect` opens it again.
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        rtscts: bool = False,
        write_terminator: str = "\r\n",
        read_terminator: str = "\r\n",
        timeout: float = 2.0,
        encoding: str = "ascii",
    ) -> None:
        if not read_terminator:
            raise ArgumentError("the read terminator must not be empty")
        super().__init__()
        self.url = url
        self._timeout = timeout
        self._line_settings = {
            "baudrate": baudrate,
            "bytesize": bytesize,
            "parity": parity,
            "stopbits": stopbits,
            "rtscts": rtscts,  # hardware handshake (a Newport ESP300 wants it)
        }
        self._encoding = encoding
        self._write_terminator = write_terminator
        self._read_terminator = read_terminator.encode(encoding)
        self._port: Any = None  # a pyserial SerialBase, untyped upstream
        self._stale = False

    @property
    def is_connected(self) -> bool:
        return self._port is not None

    def _open_link(self) -> None:
        if self._port is None:
            self._port = self._open()

    def _open(self) -> Any:
        try:
            port = serial.serial_for_url(
                self.url, timeout=self._timeout, write_timeout=self._timeout, **self._line_settings
            )
        except (OSError, ValueError) as exc:  # SerialException is an OSError
            raise TransportError(f"cannot open {self.url}: {exc}") from exc
        _LOG.info("opened %s", self.url)
        return port

    def _close_link(self) -> None:
        port, self._port = self._port, None
        self._stale = False
        if port is None:
            return
        # pyserial's socket:// close() skips closing its socket when the peer is gone.
        sock = getattr(port, "_socket", None)
        with contextlib.suppress(OSError):
            port.close()
        if isinstance(sock, socket.socket):
            sock.close()

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn pyserial's exceptions into transport errors."""
        if self._port is None:
            raise TransportError(f"{self.url} is not open")
        try:
            yield
        except TransportError:
            raise  # ours, and a ConnectionError: keep it from the OSError branch
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"{action} on {self.url} timed out") from exc
        except OSError as exc:
            _LOG.warning("closing %s after an error %s: %s", self.url, action, exc)
            self._close_link()
            raise TransportError(f"{action} on {self.url} failed: {exc}") from exc

    def _send(self, command: str) -> None:
        data = encode_line(command, self._write_terminator, self._encoding)
        if self._stale:
            # Whatever came in since a timeout answers an older command, not this one.
            self._port.reset_input_buffer()
            self._stale = False
        _LOG.debug("%s <- %r", self.url, command)
        self._port.write(data)
        self._port.flush()

    def _receive(self) -> str:
        data: bytes = self._port.read_until(self._read_terminator)
        if not data.endswith(self._read_terminator):
            self._stale = True
            partial = f" (dropped partial {data!r})" if data else ""
            raise DeviceTimeout(f"no reply from {self.url} within {self._timeout} s{partial}")
        line = data[: -len(self._read_terminator)]
        reply = decode_line(line, self._encoding, self.url)
        _LOG.debug("%s -> %r", self.url, reply)
        return reply
