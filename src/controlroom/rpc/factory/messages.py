"""What the process manager and its factory say to each other, and how.

The two share a Unix socket pair of type ``SOCK_SEQPACKET``: one message per
packet, never split or merged, and the file descriptors a request hands over
(the child's stdout pipe and its log) travel with it as ``SCM_RIGHTS``. Each
message is a msgpack map with an ``op``:

* manager -> factory: ``spawn`` {id, argv} with two descriptors;
* factory -> manager: ``ready`` {pid, preloaded}, ``spawned`` {id, pid},
  ``refused`` {id, error}, ``exited`` {pid, code}.

The socket never leaves the host and its peer is our own child, but a
message is still checked like any other input: a bounded size, known ops,
fields of the right types.
"""

from __future__ import annotations

import array
import contextlib
import os
import select
import socket
from dataclasses import dataclass
from typing import Any

import msgpack

MAX_MESSAGE = 64 * 1024  # an argv is a few hundred bytes; anything near this is wrong
MAX_FDS = 2  # the child's stdout and stderr
MAX_ARGS = 256


class FactoryError(Exception):
    """The factory cannot be started, or it refused or lost a request."""


@dataclass(frozen=True)
class Message:
    """One message: its fields and the descriptors that came with it (now ours to close)."""

    fields: dict[str, Any]
    fds: tuple[int, ...] = ()

    @property
    def op(self) -> str:
        return str(self.fields.get("op", ""))


def send(sock: socket.socket, fields: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    """Send one message, with ``fds`` attached; :class:`FactoryError` if it is too big."""
    data = msgpack.packb(fields, use_bin_type=True)
    if len(data) > MAX_MESSAGE:
        raise FactoryError(f"a {fields.get('op')} message of {len(data)} bytes is too big")
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock: socket.socket) -> Message | None:
    """The next message; None when the peer has closed its end.

    A message that is truncated, carries too many descriptors or is not a
    msgpack map raises :class:`FactoryError` (its descriptors closed).
    """
    room = socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize)
    data, ancillary, flags, _ = sock.recvmsg(MAX_MESSAGE + 1, room)
    fds = _descriptors(ancillary)
    if not data and not fds and _closed(sock):
        return None
    try:
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(data) > MAX_MESSAGE:
            raise FactoryError("a message was too big, or carried too many descriptors")
        try:
            fields = msgpack.unpackb(data, raw=False, strict_map_key=True)
        except (ValueError, msgpack.UnpackException) as exc:
            raise FactoryError(f"a message is not msgpack: {exc}") from exc
        if not isinstance(fields, dict):
            raise FactoryError("a message is not a map")
    except FactoryError:
        close_all(fds)
        raise
    return Message(fields, fds)


def checked_argv(fields: dict[str, Any]) -> list[str]:
    """The ``argv`` of a spawn request: ``[python, "-m", module, *args]``, all strings."""
    argv = fields.get("argv")
    if not isinstance(argv, list) or not 3 <= len(argv) <= MAX_ARGS:
        raise FactoryError("argv must be a list of 3 to 256 strings")
    if not all(isinstance(arg, str) for arg in argv) or argv[1] != "-m":
        raise FactoryError("argv must be [python, '-m', module, ...] of strings")
    return argv


def _closed(sock: socket.socket) -> bool:
    """Whether the peer has closed its end (a packet may also be empty, and read the same)."""
    poller = select.poll()
    poller.register(sock, select.POLLRDHUP | select.POLLHUP)
    return bool(poller.poll(0))


def close_all(fds: tuple[int, ...] | list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _descriptors(ancillary: list[tuple[int, int, bytes]]) -> tuple[int, ...]:
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            whole = len(payload) - len(payload) % fds.itemsize
            fds.frombytes(payload[:whole])
    return tuple(fds)
