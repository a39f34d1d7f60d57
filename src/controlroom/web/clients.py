"""One open WebSocket's side of the hub: a bounded queue the hub threads offer to.

The hub offers from its producer threads; :meth:`ClientQueue.offer` hands the
messages to the event loop (``call_soon_threadsafe``) and returns at once. In
the loop they wait in a queue of at most ``limit`` messages. A client that
falls that far behind is not worth catching up message by message: its queue
is emptied (the messages are counted as ``dropped``) and it is sent a fresh
snapshot instead, so it shows the current state again as soon as it reads.

Replies to the page's commands go through the same queue (:meth:`reply`), so
only one task ever writes to the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from controlroom.web.hub import Message

DESCRIBED = ("user", "delivered", "dropped", "resyncs", "lag")  # what the hub page shows of one


class ClientQueue:
    """The changes and replies waiting for one WebSocket (a :class:`~.hub.Sink`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int, user: str) -> None:
        self.user = user
        self.limit = limit
        self.delivered = 0  # changes sent to the socket
        self.dropped = 0  # changes thrown away because the client was too slow
        self.resyncs = 0  # snapshots sent after the first
        self._loop = loop
        self._changes: deque[Message] = deque()
        self._replies: deque[dict[str, Any]] = deque()
        self._resync = False
        self._ready = asyncio.Event()

    def offer(self, messages: Sequence[Message]) -> None:
        """From any thread: queue ``messages``; never blocks."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the socket is gone
            self._loop.call_soon_threadsafe(self._put, messages)

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

    async def take(self) -> tuple[list[dict[str, Any]], bool, list[Message]]:
        """Wait for something to send: (replies, whether to send a snapshot, changes)."""
        await self._ready.wait()
        self._ready.clear()
        replies, self._replies = list(self._replies), deque()
        resync, self._resync = self._resync, False
        changes, self._changes = list(self._changes), deque()
        return replies, resync, changes

    @property
    def lag(self) -> int:
        return len(self._changes)

    def describe(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DESCRIBED}

    def _put(self, messages: Sequence[Message]) -> None:
        if len(self._changes) + len(messages) > self.limit:
            self.dropped += len(messages)
            self.resync()
            return
        self._changes.extend(messages)
        self._ready.set()


def dumps(payload: Any) -> str:
    """JSON a browser can parse: NaN and infinities become null, unknown types text."""
    return json.dumps(_clean(payload), separators=(",", ":"), default=str)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _clean(value.tolist())
    return value
