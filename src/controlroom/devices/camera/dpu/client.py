"""ProcessorClient: talk to a DPU processor process over its control endpoint.

This is how the DPU control server (or a test script) reaches the processor
it started. Everything but the socket handling is the processor's:

* :meth:`ProcessorClient.submit` queues a command for the FEE and returns a
  ``Future`` at once; it completes with the command's record (``register``/
  ``value`` or ``address``/``word``, ``status``: the RMAP status, 0 when the
  FEE took it, ``error``, ``frame_counter``: the period whose command window
  sent it) once the command was sent, up to one sync period later. Any
  number of threads may submit: commands queued before a window go out in it.
* :meth:`~ProcessorClient.query` and :meth:`~ProcessorClient.assign` ask the
  processor itself (its mirror of the FEE and its parameters; enums come by
  name, ``"FULL_IMAGE"``); :meth:`~ProcessorClient.status` returns its status
  map. These wait up to ``timeout_s`` and raise :class:`ProcessorTimeout`.
* A request the processor refuses raises a :class:`RemoteDpuError` with the
  remote message (:class:`RemoteQueueFull` and the like are also the local
  :class:`QueueFull`, ... classes).
* :meth:`~ProcessorClient.reconnect` points the client at a restarted
  processor (it has a new endpoint): requests still waiting on the old one
  fail with :class:`ProcessorRestarted`. :meth:`~ProcessorClient.close` fails
  them with :class:`ProcessorClosed`.

Every method may be called from any thread. One I/O thread owns the DEALER
socket (:mod:`.clientio`); callers hand it their requests through a queue
and a wake-up pipe, and it completes their futures. A request that cannot
even leave (the processor takes nothing) fails with
:class:`ProcessorUnavailable`. For example::

    with ProcessorClient(ready["control"]) as dpu:
        record = dpu.submit(SetRegister("ccd_mode_config", 5)).result(timeout=10)
        assert record["status"] == 0, record["error"]
        dpu.assign("num_cycles", 3)
        dpu.query("mode")                 # "FULL_IMAGE" once the FEE loaded it
        dpu.status()["frame_counter"]
"""

from __future__ import annotations

import functools
import itertools
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, cast

import zmq

from controlroom.devices.camera.dpu.clientio import ClientIO, Close, Forget, Reconnect, Send
from controlroom.devices.camera.dpu.commands import (
    Command,
    ProcessorClosed,
    SetRegister,
    WriteWord,
)
from controlroom.devices.camera.dpu.errors import (
    ProcessorRestarted,
    ProcessorTimeout,
    ProcessorUnavailable,
    RemoteDpuError,
    RemoteMalformedRequest,
    RemoteProcessorClosed,
    RemoteQueueFull,
    RemoteUnknownRequest,
)
from controlroom.devices.camera.dpu.protocol import MalformedReply, pack

DEFAULT_TIMEOUT_S = 5.0
JOB_WAIT_S = 10.0  # a reconnect or close waits this long for the I/O thread at most

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ProcessorClient",
    "ProcessorRestarted",
    "ProcessorTimeout",
    "ProcessorUnavailable",
    "RemoteDpuError",
    "RemoteMalformedRequest",
    "RemoteProcessorClosed",
    "RemoteQueueFull",
    "RemoteUnknownRequest",
]


class ProcessorClient:
    """A connection to the DPU processor at ``control_endpoint``; a context manager."""

    def __init__(
        self,
        control_endpoint: str,
        context: zmq.Context[Any] | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._io = ClientIO(context if context is not None else zmq.Context.instance())
        self._io.start(control_endpoint)

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to now."""
        return self._io.endpoint

    def __enter__(self) -> ProcessorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, command: Command) -> Future[dict[str, Any]]:
        """Queue ``command`` for the next command window; its future gives the record."""
        if isinstance(command, SetRegister):
            message = {"kind": "command", "register": command.name, "value": command.value}
        elif isinstance(command, WriteWord):
            message = {"kind": "command", "address": command.address, "word": command.word}
        else:
            raise TypeError(f"a DPU command is SetRegister or WriteWord, not {command!r}")
        return cast("Future[dict[str, Any]]", self._request(message)[1])

    def query(self, name: str, timeout_s: float | None = None) -> object:
        """A value of the processor's mirror of the FEE, or one of its parameters."""
        return self._call({"kind": "query", "name": name}, timeout_s)

    def assign(self, name: str, value: object, timeout_s: float | None = None) -> None:
        """Set one of the processor's parameters (``num_cycles``, ``obsid``, ...)."""
        self._call({"kind": "assign", "name": name, "value": value}, timeout_s)

    def status(self, timeout_s: float | None = None) -> dict[str, Any]:
        """The processor's status: loop counters, mirror, storage, last housekeeping, pid."""
        status = self._call({"kind": "status"}, timeout_s)
        if not isinstance(status, dict):
            raise MalformedReply(f"a status reply is a map, not {type(status).__name__}")
        return status

    def reconnect(self, endpoint: str) -> None:
        """Send requests to ``endpoint`` from now on; those waiting fail (ProcessorRestarted)."""
        self._check_open()
        self._io.job(Reconnect(endpoint), JOB_WAIT_S)

    def close(self) -> None:
        """Fail the requests still waiting (ProcessorClosed), close the socket, end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._io.job(Close(), JOB_WAIT_S)
        self._io.join(JOB_WAIT_S)

    def _call(self, message: dict[str, Any], timeout_s: float | None) -> object:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        rid, future = self._request(message)
        try:
            return future.result(timeout)
        except FutureTimeout:
            self._io.post(Forget(rid))
            raise ProcessorTimeout(
                f"the DPU processor at {self.endpoint} did not answer a {message['kind']} "
                f"request within {timeout:g} s"
            ) from None

    def _request(self, message: dict[str, Any]) -> tuple[bytes, Future[object]]:
        self._check_open()
        rid = next(self._ids).to_bytes(8, "big")
        future: Future[object] = Future()
        body = pack(message)
        future.add_done_callback(functools.partial(self._forget_cancelled, rid))
        self._io.post(Send(rid, body, future))
        return rid, future

    def _forget_cancelled(self, rid: bytes, future: Future[object]) -> None:
        if future.cancelled():  # its caller gave up: a late reply finds nobody
            self._io.post(Forget(rid))

    def _check_open(self) -> None:
        if self._closed:
            raise ProcessorClosed("this DPU processor client is closed")
