"""Deferred replies: device commands that answer later, when their Future completes.

Some devices take commands only at set moments: the camera's front end, for
one, accepts them once per sync period in a command window. A driver for such
a device queues the command and returns a :class:`concurrent.futures.Future`
at once; the server then sends that caller's reply when the future completes,
while it goes on serving everyone else (device commands included). So several
callers can queue commands for the same window and each gets its own reply.

Any device command whose result is a ``Future`` is deferred: the dispatcher
detects it (:meth:`~controlroom.rpc.dispatch.Dispatcher.run_device_observed`),
so no declaration is needed. A future was never a valid result before (it
cannot be encoded), so no working command changes meaning. The caller sees the
future's result, or its exception as a failure reply, exactly as if the method
had returned or raised it; the command journal sees the call once, when it
completes, with the time up to completion.

The future may complete on any thread, but a ROUTER socket may only be used
by the thread holding it (the command loop, or the standby thread during a
long command). The completion callback therefore only queues the call and
rings an inproc PAIR; the socket's holder polls that PAIR next to the ROUTER
while replies are owed, and sends them. With nothing owed the command loop
keeps its plain blocking receive.

Bounds and stopping: at most ``limit`` replies are owed at once. One more is
refused: its future is cancelled (which a queued command allows) and the
caller gets ``ServerBusy`` saying whether the command was cancelled or runs on
unanswered. When the server stops, completed calls get their replies and the
others are cancelled and answered with :class:`ServerStopped`; callbacks that
fire later do nothing.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq

from controlroom.rpc.access import Caller
from controlroom.rpc.errors import RpcError
from controlroom.wire import Envelope

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

MAX_DEFERRED = 1024  # replies owed at once; each holds a route and an envelope

_ids = itertools.count()
_NOBLOCK = int(zmq.NOBLOCK)


class ServerStopped(RpcError):
    """The server stopped before a deferred command completed."""


@dataclass(slots=True)
class Held:
    """One device call whose reply waits for its future."""

    token: int
    route: list[bytes]
    env: Envelope
    caller: Caller
    started: float  # UTC seconds when the command started
    future: Future[Any]
    finished: float | None = None  # UTC seconds when the future completed


class DeferredReplies:
    """The calls owed a reply, and their delivery on the thread holding the socket."""

    def __init__(
        self, server: ControlServer, context: zmq.Context[Any], limit: int = MAX_DEFERRED
    ) -> None:
        if limit < 1:
            raise ValueError(f"max_deferred must be at least 1, not {limit!r}")
        self.server = server
        self.limit = limit
        self.refused = 0  # calls refused because ``limit`` replies were owed
        self.abandoned = 0  # calls answered with ServerStopped
        self._held: dict[int, Held] = {}
        self._done: collections.deque[Held] = collections.deque()
        self._tokens = itertools.count()
        self._lock = threading.Lock()  # guards the table, the done queue and the ring socket
        self._rung = False  # a wake-up is on its way and not yet drained
        self._closed = False
        address = f"inproc://controlroom-deferred-{next(_ids)}"
        # Read by whoever holds the ROUTER socket; written only under _lock.
        self.wake: zmq.Socket[Any] = context.socket(zmq.PAIR)
        self.wake.bind(address)
        self._ring: zmq.Socket[Any] = context.socket(zmq.PAIR)
        self._ring.connect(address)
        self._poller: zmq.Poller | None = None

    @property
    def outstanding(self) -> int:
        """Calls still owed a reply (running, or completed and not yet answered)."""
        return len(self._held)

    def hold(
        self, route: list[bytes], env: Envelope, caller: Caller, started: float, future: Future[Any]
    ) -> str | None:
        """Owe ``route`` the reply ``future`` will give; the reason why not if refused."""
        with self._lock:
            full = self._closed or len(self._held) >= self.limit
            if not full:
                token = next(self._tokens)
                self._held[token] = Held(token, route, env, caller, started, future)
        if full:
            self.refused += 1
            fate = "was cancelled" if future.cancel() else "runs on, unanswered"
            owed = "the server is stopping" if self._closed else f"{self.limit} replies owed"
            return f"{self.server.name}: {owed}; {env.command} {fate}"
        # Runs at once, on this thread, if the future is already done.
        future.add_done_callback(functools.partial(self._completed, token))
        return None

    def _completed(self, token: int, future: Future[Any]) -> None:
        """On the completing thread: queue the call and wake the socket's holder."""
        with self._lock:
            held = self._held.get(token)
            if held is None or self._closed:
                return  # answered at stop already
            held.finished = time.time()
            self._done.append(held)
            if not self._rung:
                self._rung = True
                with contextlib.suppress(zmq.ZMQError):  # Again: a wake-up is pending anyway
                    self._ring.send(b"", _NOBLOCK)

    def wait(self, router: zmq.Socket[Any], timeout_ms: int) -> bool:
        """Wait for a request or a completion; send completed replies; True if a request waits."""
        if self._poller is None:
            self._poller = zmq.Poller()
            self._poller.register(router, zmq.POLLIN)
            self._poller.register(self.wake, zmq.POLLIN)
        events = dict(self._poller.poll(timeout_ms))
        if self.wake in events:
            self.deliver()
        return router in events

    def deliver(self) -> None:
        """Send the replies of the calls completed so far; the caller holds the socket."""
        for held in self._take_completed():
            self._answer(held)

    def _take_completed(self) -> Sequence[Held]:
        while True:
            try:
                self.wake.recv(_NOBLOCK)
            except zmq.Again:
                break
        with self._lock:
            self._rung = False  # cleared before taking: a later completion rings again
            done = list(self._done)
            self._done.clear()
            for held in done:
                del self._held[held.token]
        return done

    def _answer(self, held: Held) -> None:
        outcome = self.server.dispatcher.settled(held.env, held.future)
        self.server.answer_device(
            held.route, held.env, held.caller, held.started, outcome, finished=held.finished
        )

    def abandon(self) -> None:
        """On stop, by the socket's holder: answer every call now, done or not."""
        with self._lock:
            self._closed = True
            left = sorted(self._held.values(), key=lambda held: held.token)
            self._held.clear()
            self._done.clear()
        for held in left:
            if held.future.cancel() or not held.future.done():
                self._answer_stopped(held)
            else:  # completed before the stop: its real reply
                self._answer(held)

    def _answer_stopped(self, held: Held) -> None:
        self.abandoned += 1
        stopped = ServerStopped(f"{self.server.name} stopped before {held.env.command} completed")
        outcome = self.server.dispatcher.failed(held.env, stopped)
        self.server.answer_device(held.route, held.env, held.caller, held.started, outcome)

    def close(self, *, socket_free: bool) -> None:
        """After the loops ended: no more wake-ups; close the wake pair if no loop can use it."""
        with self._lock:
            self._closed = True
            left = list(self._held.values())  # only if the command loop never answered them
            self._held.clear()
            self._done.clear()
            self._ring.close(linger=0)
        for held in left:
            held.future.cancel()
        if socket_free:  # a socket is never closed under a thread that may poll it
            self.wake.close(linger=0)
