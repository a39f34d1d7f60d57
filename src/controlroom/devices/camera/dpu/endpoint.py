"""The processor's control endpoint: one thread owns a ROUTER socket and answers requests.

Requests and replies are those of :mod:`.protocol`. A status request is
answered at once from the :class:`~.status.StatusBoard` (never through the
loop); commands go on the loop's command queue and are answered when they
were sent in a command window; assignments go on the priority queue, which
the loop serves several times per sync period. A query is answered at once
from the :class:`~.mirror.Mirror` the loop published last, whatever the loop
is doing; only while an assignment (or a request queued behind one) waits
for the loop does a query queue behind it, so a client reads what it set.

Those futures complete on the loop's thread, but only this endpoint's
thread may use the ROUTER socket (ZeroMQ sockets are not thread-safe): a
completed future puts its reply in an outbox and writes one byte to a pipe
the endpoint thread polls together with the socket (:class:`~.wake.WakePipe`),
which wakes it to send.
Anything malformed gets an error reply naming the problem; the endpoint
goes on serving.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import zmq

from controlroom.devices.camera.dpu.commands import (
    Assign,
    CommandQueue,
    CommandReply,
    PriorityQueue,
    Query,
    SetRegister,
    WriteWord,
)
from controlroom.devices.camera.dpu.errors import NotTheControlServer
from controlroom.devices.camera.dpu.mirror import Mirror
from controlroom.devices.camera.dpu.parameters import query
from controlroom.devices.camera.dpu.protocol import (
    MAX_MESSAGE_BYTES,
    MalformedRequest,
    Request,
    error_reply,
    ok_reply,
    parse_request,
    plain,
    request_id,
)
from controlroom.devices.camera.dpu.waits import WaitCounts, combined
from controlroom.devices.camera.dpu.wake import WakePipe
from controlroom.rpc import curve, endpoints
from controlroom.rpc.frames import recv_frames_and_user

_LOG = logging.getLogger(__name__)
POLL_MS = 200  # how often the thread looks at its stop flag when nothing happens
BATCH = 64  # requests read in a row before the outbox is looked at again
LINGER_MS = 1000  # replies still queued at the end get this long to leave
Reply = tuple[list[bytes], bytes, bytes, bool]  # route, request id, body, of an assignment


class ControlEndpoint:
    """Serves ``commands`` and ``priorities`` (a DpuLoop's queues) and ``status`` on ``endpoint``.

    ``mirror`` gives the loop's latest :class:`Mirror` (queries are answered
    from it; without, they go on the priority queue too). The socket is bound
    here (so the caller can announce the endpoint) and served by
    :meth:`start`'s thread until :meth:`stop`.
    """

    def __init__(
        self,
        endpoint: str,
        commands: CommandQueue,
        priorities: PriorityQueue,
        status: Callable[[], dict[str, Any]],
        *,
        context: zmq.Context[Any] | None = None,
        mirror: Callable[[], Mirror] | None = None,
    ) -> None:
        self._commands = commands
        self._priorities = priorities
        self._status = status
        self._mirror = mirror
        # The thread's own: requests, queries answered from the mirror, their waits.
        self.counters = {"requests": 0, "malformed": 0, "failed": 0, "refused": 0, "mirrored": 0}
        self.waits = WaitCounts()
        self._assigning = 0  # assignments queued whose reply is not sent yet
        context = context if context is not None else zmq.Context.instance()
        self._security = curve.security_of(context)
        self._socket = curve.server_socket(context, zmq.ROUTER)
        try:
            self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            self.endpoint = endpoints.bind(self._socket, endpoint)
        except BaseException:
            self._socket.close(linger=0)
            raise
        self._outbox: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self._wake = WakePipe()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dpu-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Send the replies that are ready, close the socket and end the thread."""
        self._stopping.set()
        self._wake.wake()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        else:
            self._socket.close(linger=0)
        self._wake.close()

    def _serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._wake.fd, zmq.POLLIN)
        try:
            while not self._stopping.is_set():
                ready = dict(poller.poll(POLL_MS))
                self._wake.clear()
                self._send_ready()
                if self._socket in ready:
                    self._receive_batch()
            self._send_ready()
        finally:
            self._socket.close(linger=LINGER_MS)

    def _receive_batch(self) -> None:
        for _ in range(BATCH):
            try:
                parts, user = recv_frames_and_user(self._socket, zmq.NOBLOCK)
            except zmq.Again:
                return
            self._handle([bytes(part) for part in parts], user)

    def _handle(self, frames: list[bytes], user: str | None = None) -> None:
        self.counters["requests"] += 1
        route, body = endpoints.split_route(frames)
        rid = b""
        try:
            rid = request_id(body)
            self._admit(user)
            request = parse_request(body[1])
            if isinstance(request.item, Query) and self._mirror is not None and self._in_order():
                self._answer(route, rid, request.item, self._mirror())
            else:
                self._dispatch(route, rid, request)
        except MalformedRequest as error:
            self.counters["malformed"] += 1
            self._send(route, rid, error_reply(error))
        except Exception as error:  # refused at once: a full queue, an unknown register, ...
            self.counters["failed"] += 1
            self._send(route, rid, error_reply(error))

    def _admit(self, user: str | None) -> None:
        """With CURVE, only this lab's own key (the DPU control server's) may ask anything.

        Roles are checked by the control server; a user's key, even a listed one, would
        bypass them here.
        """
        keyring = self._security.keyring if self._security is not None else None
        if keyring is None or user == keyring.client_public.decode("ascii"):
            return
        self.counters["refused"] += 1
        raise NotTheControlServer(
            f"the DPU processor takes requests from its control server only (key of "
            f"{keyring.identity!r}); command the camera through the dpu control server"
        )

    def _in_order(self) -> bool:
        """Whether a query answered now comes after every request before it that could
        change its answer: no assignment waits, nor anything queued behind one."""
        return self._assigning == 0 and len(self._priorities) == 0

    def _answer(self, route: list[bytes], rid: bytes, item: Query, mirror: Mirror) -> None:
        started = time.monotonic()
        try:
            body = ok_reply(plain(query(mirror, item.name)))
        except Exception as error:  # an unknown name: the caller's error, as from the loop
            body = error_reply(error)
        self.counters["mirrored"] += 1
        self._send(route, rid, body)
        self.waits.add(time.monotonic() - started)

    def _dispatch(self, route: list[bytes], rid: bytes, request: Request) -> None:
        item = request.item
        future: Future[Any]
        convert: Callable[[Any], object]
        if isinstance(item, SetRegister | WriteWord):
            future, convert = self._commands.submit(item), _record
        elif isinstance(item, Query | Assign):
            future, convert = self._priorities.submit(item), plain
        else:
            self._send(route, rid, ok_reply(plain(self.status())))
            return
        assigns = isinstance(item, Assign)
        self._assigning += assigns
        future.add_done_callback(functools.partial(self._finished, route, rid, convert, assigns))

    def status(self) -> dict[str, Any]:
        """The status reply: the board's snapshot and this endpoint's counters (the
        waits of the queries it answered itself counted with the loop's)."""
        status = {**self._status(), "control": dict(self.counters)}
        if "priority_waits" in status:
            status["priority_waits"] = combined(status["priority_waits"], self.waits)
        return status

    def _finished(
        self,
        route: list[bytes],
        rid: bytes,
        convert: Callable[[Any], object],
        assigns: bool,
        future: Future[Any],
    ) -> None:
        """On the thread that completed ``future``: hand its reply to the endpoint thread."""
        try:
            body = ok_reply(convert(future.result()))
        except Exception as error:  # the request's own failure, or a result that cannot be sent
            body = error_reply(error)
        self._outbox.put((route, rid, body, assigns))
        self._wake.wake()

    def _send_ready(self) -> None:
        while True:
            try:
                route, rid, body, assigns = self._outbox.get_nowait()
            except queue.Empty:
                return
            self._assigning -= assigns
            self._send(route, rid, body)

    def _send(self, route: list[bytes], rid: bytes, body: bytes) -> None:
        try:
            self._socket.send_multipart([*route, rid, body], zmq.NOBLOCK)
        except zmq.Again:  # that client stopped reading: its reply is dropped, others go on
            _LOG.warning("DPU control: a reply to a client that does not read was dropped")


def _record(reply: CommandReply) -> dict[str, Any]:
    return reply.as_record()
