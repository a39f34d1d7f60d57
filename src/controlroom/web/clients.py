"""One open WebSocket's side of the hub: a bounded queue the hub threads offer to.

The hub offers from its producer threads; :meth:`ClientQueue.offer` posts the
messages to the :class:`LoopInbox` of the event loop and returns at once. The
inbox is shared by every queue of that loop: a publication offered to a
thousand pages wakes the loop once, not a thousand times, and one callback
hands each queue its messages, framed once for all the queues that share them.

A queue whose socket keeps up writes them there and then (:class:`FrameWriter`):
no task switch, no per-page encoding. Otherwise -- the socket's sender task is
busy, a snapshot or reply is pending, the session has ended, the socket is
behind -- they wait for the sender in a queue of at most ``limit`` messages.
A client that falls that far behind is not worth catching up message by
message: its queue is emptied (the messages are counted as ``dropped``) and it
is sent a fresh snapshot instead, so it shows the current state again as soon
as it reads.

Replies to the page's commands go through the same queue (:meth:`reply`): the
sender is the only other writer of the socket, and writes only while nothing
is written directly (it is not parked in :meth:`ClientQueue.take`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State

from controlroom.web.hub import Message, dumps

__all__ = ["ClientQueue", "FrameWriter", "LoopInbox", "dumps"]

# What /api/hub shows of one socket.
DESCRIBED = ("user", "delivered", "written_at_once", "dropped", "resyncs", "lag")
# Bytes a socket may have waiting in its transport and still be written to directly;
# beyond, its changes go through the queue, whose limit decides when it is too slow.
BEHIND_BYTES = 64 * 1024
# How often a socket asks the session store whether its session still lives: asking
# before every change (an HMAC for anonymous sessions) was a good part of the fan-out.
SESSION_CHECK_S = 1.0


class FrameWriter:
    """Writes ready-made WebSocket frames straight to one connection's transport.

    Made only for a connection the ASGI server runs with a :mod:`websockets`
    protocol (uvicorn's, noted by :class:`~.ws.ConnectionNote`): that protocol
    says whether the socket is still open, and the server's own frames (pings,
    the close handshake) go to the same transport, each whole. The frames are
    never compressed, which permessage-deflate allows for any message.
    """

    def __init__(self, transport: asyncio.WriteTransport, protocol: Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    @classmethod
    def of(cls, connection: object) -> FrameWriter | None:
        """A writer for an ASGI server's ``connection``; None when it is not one we know."""
        transport = getattr(connection, "transport", None)
        protocol = getattr(connection, "conn", None)
        if isinstance(transport, asyncio.WriteTransport) and isinstance(protocol, Protocol):
            return cls(transport, protocol)
        return None

    def write(self, frames: bytes) -> bool:
        """Write ``frames`` if the socket is open and keeping up; False, unwritten, if not."""
        if self._protocol.state is not State.OPEN or self._transport.is_closing():
            return False
        if self._transport.get_write_buffer_size() > BEHIND_BYTES:
            return False
        self._transport.write(frames)
        return True


def change_frames(messages: Sequence[Message]) -> bytes:
    """The ``change`` messages for ``messages``, as unmasked text frames back to back."""
    return b"".join(
        Frame(Opcode.TEXT, m.change_text().encode()).serialize(mask=False) for m in messages
    )


class LoopInbox:
    """Offers from any thread for the queues of one event loop, handed over in one wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._posted: list[tuple[ClientQueue, Sequence[Message]]] = []
        self._lock = threading.Lock()

    def post(self, queue: ClientQueue, messages: Sequence[Message]) -> None:
        """From any thread: give ``messages`` to ``queue`` in its loop; never blocks."""
        with self._lock:
            first = not self._posted
            self._posted.append((queue, messages))
        if first:  # later posts ride on the wake-up already asked for
            with contextlib.suppress(RuntimeError):  # a closed loop: the sockets are gone
                self.loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            posted, self._posted = self._posted, []
        # The hub offers one tuple to all the sinks that follow the same prefixes: frame
        # it once for all of them (``posted`` keeps each alive, so no id is reused here).
        framed: dict[int, bytes] = {}
        now = self.loop.time()
        for queue, messages in posted:
            queue.put(messages, framed, now)


class ClientQueue:
    """The changes and replies waiting for one WebSocket (a :class:`~.hub.Sink`)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        limit: int,
        user: str,
        *,
        inbox: LoopInbox | None = None,
        writer: FrameWriter | None = None,
        session_live: Callable[[], bool] | None = None,
    ) -> None:
        self.user = user
        self.limit = limit
        self.delivered = 0  # changes sent to the socket
        self.written_at_once = 0  # of those, the ones written as they came, bypassing the sender
        self.dropped = 0  # changes thrown away because the client was too slow
        self.resyncs = 0  # snapshots sent after the first
        self.seen = 0  # the seq of the snapshot sent last: older changes are not sent
        self._inbox = inbox if inbox is not None and inbox.loop is loop else LoopInbox(loop)
        self._writer = writer
        self._session_live = session_live
        self._session_until = 0.0  # loop time until which the session need not be asked about
        self._parked = False  # the sender waits in take() with nothing to do
        self._changes: list[Message] = []
        self._replies: list[dict[str, Any]] = []
        self._resync = False
        self._ready = asyncio.Event()

    def offer(self, messages: Sequence[Message]) -> None:
        """From any thread: queue ``messages``; never blocks."""
        self._inbox.post(self, messages)

    def reply(self, payload: dict[str, Any]) -> None:
        """From the loop: send ``payload`` (a command's answer) before further changes."""
        self._replies.append(payload)
        self._ready.set()

    def resync(self) -> None:
        """From the loop: drop what waits and send a fresh snapshot next."""
        self.dropped += len(self._changes)
        self._changes.clear()
        self._resync = True
        self._ready.set()

    def session_valid(self, now: float, *, ask: bool = False) -> bool:
        """Whether the socket's session lives: the store is asked when it was last asked
        SESSION_CHECK_S or more before ``now`` (loop time), or when ``ask`` says so."""
        if now < self._session_until and not ask:
            return True
        if self._session_live is not None and not self._session_live():
            return False
        self._session_until = now + SESSION_CHECK_S
        return True

    def put(self, messages: Sequence[Message], framed: dict[int, bytes], now: float) -> None:
        """From the loop at ``now`` (loop time): write ``messages`` if the socket keeps up,
        else queue them; ``framed`` holds the frames of the offers handed over with them."""
        if self._writes_directly(messages, now):
            assert self._writer is not None
            frames = framed.get(id(messages))
            if frames is None:
                frames = framed[id(messages)] = change_frames(messages)
            if self._writer.write(frames):
                self.delivered += len(messages)
                self.written_at_once += len(messages)
                return
        if len(self._changes) + len(messages) > self.limit:
            self.dropped += len(messages)
            self.resync()
            return
        self._changes.extend(messages)
        self._ready.set()

    async def take(self) -> tuple[list[dict[str, Any]], bool, list[Message]]:
        """Wait for something to send: (replies, whether to send a snapshot, changes)."""
        self._parked = True
        try:
            await self._ready.wait()
        finally:
            self._parked = False
        self._ready.clear()
        replies, self._replies = self._replies, []
        resync, self._resync = self._resync, False
        changes, self._changes = self._changes, []
        return replies, resync, changes

    @property
    def lag(self) -> int:
        return len(self._changes)

    def describe(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DESCRIBED}

    def _writes_directly(self, messages: Sequence[Message], now: float) -> bool:
        # Only while the sender has nothing queued (so the order holds), for messages all
        # newer than the snapshot (seq ascending) and a session that lives: when it has
        # ended, the sender closes the socket.
        return (
            self._writer is not None
            and self._parked
            and not self._ready.is_set()
            and bool(messages)
            and messages[0].seq > self.seen
            and self.session_valid(now)
        )
