"""A raw-socket line client for the pipe-server tests: what a LabVIEW, C or shell client does."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self

from controlroom.rpc import ControlServer

TIMEOUT_S = 10.0


class LineClient:
    """One TCP connection: send lines, read reply lines, nothing else."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=TIMEOUT_S)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ask(self, line: str) -> str:
        self.send(line.encode() + b"\n")
        return self.reply()

    def reply(self) -> str:
        """The next reply line, without its newline; '' if the server closed the connection."""
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def closed_by_server(self) -> bool:
        """True once the server has closed the connection (blocks until it does or times out)."""
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            return True
        return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def fallback_for(server: ControlServer) -> dict[str, dict[str, str]]:
    """Settings-style endpoints of an in-process control server, as the pipe server's fallback."""
    return {server.name: {"commands": server.endpoint, "publish": server.pub_endpoint}}
