"""Messages between the storage manager and a backend process, over a socket pair.

A message is any value the wire codec packs (:func:`controlroom.wire.pack`:
msgpack, with numpy arrays as frames of their own) sent as a header, ``!I``
frame count then ``!I`` per frame length, followed by the frames. Each side
only ever talks to the process at the other end of its own socket pair, so
the framing needs no more than that; the codec still refuses anything but
plain data, and sizes are bounded.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any

from controlroom import wire

MAX_FRAMES = 1024  # a row of arrays may have many; a header beyond this is garbage
_COUNT = struct.Struct("!I")
_CHUNK = 1 << 16


class ChannelClosed(ConnectionError):
    """The process at the other end closed its end (or died) in the middle of a message."""


class Channel:
    """Send and receive whole messages on ``sock``; sending is safe from several threads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()  # received, not yet taken
        self._sending = threading.Lock()

    def send(self, message: Any) -> None:
        """Send ``message`` whole (blocks while the other side is not reading)."""
        self.send_frames(wire.pack(message))

    def send_frames(self, frames: list[wire.codec.Frame]) -> None:
        """Send a message already packed with :func:`controlroom.wire.pack`."""
        header = struct.pack(f"!I{len(frames)}I", len(frames), *map(_size, frames))
        with self._sending:
            self.sock.sendall(header)
            for frame in frames:
                self.sock.sendall(frame)

    def receive(self) -> Any:
        """The next message; ``EOFError`` when the other side closed between messages."""
        if not self._buffer and not self._receive_some():
            raise EOFError("the other end closed the channel")
        (count,) = _COUNT.unpack(self._take(_COUNT.size))
        if not 0 < count <= MAX_FRAMES:
            raise ChannelClosed(f"a message of {count} frames: the stream is out of step")
        sizes = struct.unpack(f"!{count}I", self._take(4 * count))
        return wire.unpack([self._take(size) for size in sizes])

    def _receive_some(self) -> bool:
        chunk = self.sock.recv(_CHUNK)
        self._buffer += chunk
        return bool(chunk)

    def _take(self, size: int) -> bytes | bytearray:
        """The next ``size`` bytes; a large frame is received straight into its own buffer."""
        while len(self._buffer) < size <= _CHUNK:
            if not self._receive_some():
                raise ChannelClosed("the other end closed the channel in the middle of a message")
        if len(self._buffer) >= size:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data
        frame = bytearray(size)
        view = memoryview(frame)
        have = len(self._buffer)
        view[:have] = self._buffer
        self._buffer.clear()
        while have < size:
            received = self.sock.recv_into(view[have:])
            if not received:
                raise ChannelClosed("the other end closed the channel in the middle of a message")
            have += received
        return frame

    def close(self) -> None:
        """Close our end: the other side's next receive sees the end, and so does ours."""
        with contextlib.suppress(OSError):  # wakes a thread of ours blocked in a receive
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _size(frame: wire.codec.Frame) -> int:
    return memoryview(frame).nbytes
