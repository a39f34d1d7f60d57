"""A transport that hands each command straight to a simulator in the same process.

Drivers and their simulators can then be tested together without a socket,
a port or a thread: the driver's command goes to the simulator's
``handle_line`` and the reply comes back in the same call.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from controlroom.device.errors import DeviceTimeout, TransportError
from controlroom.device.transports.base import LockedTransport

_LOG = logging.getLogger(__name__)

LineHandler = Callable[[str], str | None]
"""What a simulator offers: one command line in, one reply line (or None) out."""


class InProcessTransport(LockedTransport):
    """A transport whose far end is a function, usually ``simulator.handle_line``.

    It behaves like the wire would: a reply the driver does not read stays
    pending for the next :meth:`read`, and waiting for a reply to a command
    that has none raises :class:`DeviceTimeout` (at once: nothing can arrive
    later). An exception raised by the handler is a simulator failure, which
    the driver sees as a :class:`TransportError` with the original as cause.
    """

    def __init__(self, handler: LineHandler) -> None:
        super().__init__()
        self._handler = handler
        self._pending: deque[str] = deque()
        self._connected = False

    def __repr__(self) -> str:
        return f"InProcessTransport({self._handler!r})"

    @property
    def is_connected(self) -> bool:
        return self._connected

    def _open_link(self) -> None:
        self._connected = True

    def _close_link(self) -> None:
        self._connected = False
        self._pending.clear()

    def _send(self, command: str) -> None:
        if not self._connected:
            raise TransportError(f"{self!r} is not connected")
        _LOG.debug("<- %r", command)
        try:
            reply = self._handler(command)
        except Exception as exc:  # any simulator bug must reach the driver as a transport fault
            raise TransportError(f"the simulator failed on {command!r}: {exc}") from exc
        if reply is not None:
            self._pending.append(reply)

    def _receive(self) -> str:
        if not self._connected:
            raise TransportError(f"{self!r} is not connected")
        if not self._pending:
            raise DeviceTimeout("the simulator sent no reply")
        reply = self._pending.popleft()
        _LOG.debug("-> %r", reply)
        return reply
