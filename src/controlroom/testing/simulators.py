"""Talking to an instrument simulator as a host program does: over its socket, and as a process.

:class:`LineClient` is the raw socket a host program opens to an instrument:
each line goes out with the terminator the instrument expects, each reply is
read up to the instrument's own (CR LF for an ESP300, ACK for a PMAC). Unlike
:class:`~controlroom.device.transports.TcpTransport` it never reconnects and
lets the socket's errors through, so a test sees exactly what the simulator
does: a hang-up, a reply that does not come.
:class:`SimulatorProcess` runs ``python -m <simulator> --port 0`` as a child
(:class:`~controlroom.rpc.child.Child`), waits for its ``READY <host> <port>``
line (never a sleep) and stops it with SIGTERM, as a supervisor does; its
exit code then says whether it stopped cleanly::

    with SimulatorProcess("controlroom.devices.motion.sim.server") as sim:
        with LineClient(sim.port, write_terminator="\\r", read_terminator="\\r\\n") as esp:
            assert esp.ask("VE?").startswith("ESP300")
    assert sim.returncode == 0
"""

from __future__ import annotations

import socket
from typing import Self

from controlroom.device.simkit.server import parse_ready_line
from controlroom.device.transports.tcp import LineBuffer
from controlroom.rpc.child import Child, module_argv
from controlroom.rpc.lifecycle import Startable

_RECV_BYTES = 4096


class LineClient:
    """A raw TCP client of a line-based instrument: one line out, replies read whole."""

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        write_terminator: str = "\n",
        read_terminator: str = "\n",
        timeout: float = 5.0,
        encoding: str = "ascii",
    ) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._terminator = write_terminator.encode(encoding)
        self._encoding = encoding
        self._received = LineBuffer(read_terminator.encode(encoding))

    def send(self, line: str) -> None:
        """Send ``line`` and its terminator; nothing is read (a command that answers nothing)."""
        self.sock.sendall(line.encode(self._encoding) + self._terminator)

    def reply(self) -> str:
        """The next reply, without its terminator; ``TimeoutError`` if none comes in time."""
        while (reply := self._received.pop_line()) is None:
            chunk = self.sock.recv(_RECV_BYTES)
            if not chunk:
                raise ConnectionError("the simulator closed the connection")
            self._received.feed(chunk)
        return reply.decode(self._encoding)

    def ask(self, line: str) -> str:
        """Send ``line``; its reply."""
        self.send(line)
        return self.reply()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class SimulatorProcess(Startable):
    """``python -m module --port 0 *options`` in a child process, on the port it chose;
    ``returncode`` once it is stopped."""

    def __init__(self, module: str, *options: str, ready_timeout: float = 15.0) -> None:
        self.argv = module_argv(module, "--port", "0", *options)
        self.ready_timeout = ready_timeout
        self.host = ""
        self.port = 0
        self.returncode: int | None = None
        self._what = f"simulator {module}"
        self._child: Child | None = None

    @property
    def child(self) -> Child:
        assert self._child is not None, "not started"
        return self._child

    def start(self) -> Self:
        """Start it and wait for its ready line (:class:`~controlroom.rpc.child.NotReady`
        if it exits or stays silent first; it is stopped then)."""
        self._child = Child.spawn(self._what, self.argv, log_path=None)
        self.host, self.port = self._child.wait_ready(parse_ready_line, self.ready_timeout)
        return self

    def signal(self, signum: int) -> None:
        """What an operator does to the instrument: ``SIGUSR1`` to the OGSE's, say."""
        self.child.signal(signum)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, ``timeout`` seconds to exit, then SIGKILL; ``returncode`` is 0 after a
        clean stop."""
        if self._child is not None and self.returncode is None:
            self.returncode = self._child.stop(timeout)
