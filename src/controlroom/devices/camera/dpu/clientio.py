"""The I/O thread of a :class:`~.client.ProcessorClient`: the only user of its DEALER socket.

Callers post jobs (send a request, forget one, reconnect, close) on a queue
and wake the thread (:class:`~.wake.WakePipe`), which polls the pipe together
with the socket: it wakes for a job as fast as for a reply. Replies are matched
to the waiting futures by request id; a reply nobody waits for any more (it
came after its caller gave up) is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

import zmq

from controlroom.devices.camera.dpu.commands import DpuError, ProcessorClosed
from controlroom.devices.camera.dpu.errors import (
    ProcessorRestarted,
    ProcessorUnavailable,
    reply_result,
)
from controlroom.devices.camera.dpu.protocol import MAX_MESSAGE_BYTES
from controlroom.devices.camera.dpu.wake import WakePipe
from controlroom.rpc import curve, endpoints
from controlroom.rpc.errors import InsecureServer

_LOG = logging.getLogger(__name__)
POLL_MS = 500  # a safety net: jobs wake the thread through the pipe
QUEUE_MESSAGES = 1000  # requests waiting to leave before a send is refused
BATCH = 64


@dataclass(frozen=True)
class Send:
    rid: bytes
    body: bytes
    future: Future[object]


@dataclass(frozen=True)
class Forget:
    rid: bytes


@dataclass(frozen=True)
class Reconnect:
    endpoint: str
    done: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class Close:
    done: Future[None] = field(default_factory=Future)


Job = Send | Forget | Reconnect | Close


class ClientIO:
    """The socket, the pending requests and the thread that serves them."""

    def __init__(self, context: zmq.Context[Any]) -> None:
        self._context = context
        self.endpoint = ""
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._pending: dict[bytes, Future[object]] = {}
        self._socket: zmq.Socket[bytes] | None = None
        self._wake = WakePipe()
        self._thread = threading.Thread(target=self._run, name="dpu-client", daemon=True)

    def start(self, endpoint: str) -> None:
        try:
            self._socket = self._open(endpoint)  # here, so a bad endpoint fails the caller
        except BaseException:
            self._wake.close()
            raise
        self._thread.start()

    def post(self, job: Job) -> None:
        self._jobs.put(job)
        self._wake.wake()

    def job(self, job: Reconnect | Close, timeout_s: float) -> None:
        """Post ``job`` and wait until the thread did it (not when called from that thread)."""
        self.post(job)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            job.done.result(timeout_s)

    def join(self, timeout_s: float) -> None:
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def _open(self, endpoint: str) -> zmq.Socket[bytes]:
        socket = curve.client_socket(self._context, zmq.DEALER)
        try:
            if not endpoints.is_loopback(endpoint) and not curve.is_secured(socket):
                raise InsecureServer(
                    f"refusing a plain connection to the DPU processor at {endpoint}: beyond "
                    "loopback it needs CURVE (secure this process's ZeroMQ context)"
                )
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.SNDHWM, QUEUE_MESSAGES)
            socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            socket.connect(endpoint)
        except BaseException:
            socket.close(linger=0)
            raise
        self.endpoint = endpoint
        return socket

    def _run(self) -> None:
        socket = self._socket
        assert socket is not None
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(self._wake.fd, zmq.POLLIN)
        try:
            while True:
                ready = dict(poller.poll(POLL_MS))
                self._wake.clear()
                if socket in ready:
                    self._receive(socket)
                if not self._do_jobs(poller):
                    return
                socket = self._socket
                assert socket is not None
        finally:
            self._close_jobs()
            if self._socket is not None:
                self._socket.close(linger=0)
            self._wake.close()

    def _do_jobs(self, poller: zmq.Poller) -> bool:
        """Every job posted so far; False once told to close."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return True
            if isinstance(job, Send):
                self._send(job)
            elif isinstance(job, Forget):
                self._pending.pop(job.rid, None)
            elif isinstance(job, Reconnect):
                self._reconnect(job, poller)
            else:
                job.done.set_result(None)
                return False

    def _send(self, job: Send) -> None:
        assert self._socket is not None
        try:
            self._socket.send_multipart([job.rid, job.body], zmq.NOBLOCK)
        except zmq.Again:
            _settle(job.future, error=ProcessorUnavailable(
                f"the DPU processor at {self.endpoint} has {QUEUE_MESSAGES} requests waiting "
                "already: it is not reading (stopped, or restarted elsewhere)"
            ))  # fmt: skip
            return
        self._pending[job.rid] = job.future

    def _reconnect(self, job: Reconnect, poller: zmq.Poller) -> None:
        old = self.endpoint
        try:
            fresh = self._open(job.endpoint)
        except Exception as error:  # a bad endpoint: the old socket stays
            job.done.set_exception(error)
            return
        self._fail_pending(
            ProcessorRestarted(
                f"the DPU processor moved from {old} to {job.endpoint}: "
                "a request sent to the old one gets no answer"
            )
        )
        assert self._socket is not None
        poller.unregister(self._socket)
        self._socket.close(linger=0)
        self._socket = fresh
        poller.register(fresh, zmq.POLLIN)
        job.done.set_result(None)

    def _receive(self, socket: zmq.Socket[bytes]) -> None:
        for _ in range(BATCH):
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                _LOG.warning("DPU client: a reply of %d frames dropped (2 expected)", len(frames))
                continue
            future = self._pending.pop(frames[0], None)
            if future is None:
                _unclaimed(frames[1])
                continue
            try:
                _settle(future, result=reply_result(frames[1]))
            except DpuError as error:
                _settle(future, error=error)

    def _close_jobs(self) -> None:
        """Fail what waits, and what was posted after the close, with ProcessorClosed."""
        closed = ProcessorClosed("this DPU processor client was closed")
        self._fail_pending(closed)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if isinstance(job, Send):
                _settle(job.future, error=closed)
            elif isinstance(job, Reconnect):
                _settle(job.done, error=closed)
            elif isinstance(job, Close):
                _settle(job.done)

    def _fail_pending(self, error: DpuError) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            _settle(future, error=error)


def _unclaimed(body: bytes) -> None:
    """A reply nobody waits for: late (its caller gave up), or a complaint about an id."""
    try:
        reply_result(body)
    except DpuError as error:
        _LOG.warning("DPU client: an error reply for no waiting request: %s", error)
        return
    _LOG.debug("DPU client: a reply nobody waits for any more was dropped")


def _settle(
    future: Future[Any], *, result: object = None, error: BaseException | None = None
) -> None:
    """Complete ``future`` unless its caller cancelled it meanwhile."""
    with contextlib.suppress(InvalidStateError):
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
