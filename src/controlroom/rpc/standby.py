"""The standby thread: keeps a control server answering while a device command runs.

It borrows the command socket only after a device command has run for
``takeover_after_s``, so quick commands pay nothing for it. It watches only
while device commands come: after :data:`PARK_AFTER_S` without one it parks
until the next (an idle server then costs nothing for it; with a hundred
servers on a host the watching alone took a core). While it holds the
socket it answers service commands and queues device commands in arrival
order; the command loop wakes it through an inproc pair when the long command
ends and takes the socket back. Meanwhile it also sends the replies of
deferred commands (:mod:`controlroom.rpc.deferred`) whose futures complete.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING

import zmq

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

log = logging.getLogger(__name__)

_ids = itertools.count()
PARK_AFTER_S = 1.0  # watching this long without a device command: park until the next one


class Standby:
    def __init__(self, server: ControlServer, takeover_after_s: float) -> None:
        self.server = server
        self.takeover_after_s = takeover_after_s
        self.takeovers = 0
        self._taken = False
        self._starts = 0  # device commands started: the watch parks once it stops moving
        self._parked = False
        self._unpark = threading.Event()
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        address = f"inproc://controlroom-standby-{next(_ids)}"
        self._wake_pull = context.socket(zmq.PAIR)
        self._wake_pull.bind(address)
        self._wake_push = context.socket(zmq.PAIR)
        self._wake_push.connect(address)
        self.thread = server.supervisor.thread("standby", self._watch, stop=server.stopping)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Wait for the thread, then close the wake-up pair (the command loop has ended)."""
        self._unpark.set()  # the server's stopping flag is set: a parked watch sees it now
        self.thread.join(timeout)
        if self.thread.is_alive():  # a socket is never closed under the thread using it
            log.warning("%s: standby thread still running after %g s", self.server.name, timeout)
            return
        self._wake_pull.close(linger=0)
        self._wake_push.close(linger=0)

    def wake(self) -> None:
        """Called by the command loop when its device command ends."""
        if self._taken:
            # zmq.Again means a wake-up is already pending; one is enough.
            with contextlib.suppress(zmq.Again):
                self._wake_push.send(b"", zmq.NOBLOCK)

    @property
    def parked(self) -> bool:
        """Whether the watch sleeps until the next device command."""
        return self._parked

    def command_started(self) -> None:
        """Called by the command loop as each device command starts (after ``busy_since``)."""
        self._starts += 1
        if self._parked:
            self._unpark.set()

    def _watch(self) -> None:
        server = self.server
        seen, quiet_since = self._starts, time.monotonic()
        while not server.stopping.is_set():
            if self._starts != seen or server.busy_since is not None:
                seen, quiet_since = self._starts, time.monotonic()
            elif time.monotonic() - quiet_since >= PARK_AFTER_S:
                self._park()
                seen, quiet_since = self._starts, time.monotonic()
                continue
            if server.stopping.wait(self.takeover_after_s):
                return
            if self._long_command_running() and server.socket_lock.acquire(blocking=False):
                try:
                    self._serve_meanwhile()
                finally:
                    server.socket_lock.release()

    def _park(self) -> None:
        """Sleep until a device command starts (or the server stops)."""
        self._parked = True
        try:
            # Checked after _parked is set: a command that started before it was seen
            # by command_started() as not parked, so it must be seen here instead.
            if self.server.busy_since is None and not self.server.stopping.is_set():
                self._unpark.wait()
        finally:
            self._parked = False
            self._unpark.clear()

    def _long_command_running(self) -> bool:
        since = self.server.busy_since
        if since is None or self.server.finishing:
            return False
        return time.monotonic() - since >= self.takeover_after_s

    def _serve_meanwhile(self) -> None:
        server = self.server
        router = server._router
        assert router is not None
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(self._wake_pull, zmq.POLLIN)
        deferred = server.deferred
        poller.register(deferred.wake, zmq.POLLIN)
        self._taken = True
        self.takeovers += 1
        try:
            while not server.finishing and not server.stopping.is_set():
                events = dict(poller.poll(50))
                self._drain_wakes()
                if deferred.wake in events:
                    deferred.deliver()
                if router in events:
                    self._drain(router)
        finally:
            self._taken = False

    def _drain_wakes(self) -> None:
        while True:
            try:
                self._wake_pull.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def _drain(self, router: zmq.Socket[bytes]) -> None:
        while True:
            try:
                frames, user = self.server.receive(router, zmq.NOBLOCK)
            except zmq.Again:
                return
            self.server.handle(frames, user, run_device=False)
