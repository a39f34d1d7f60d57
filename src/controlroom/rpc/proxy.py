"""The client side: a Proxy talks to one control server over a DEALER socket.

* It connects lazily, so it can be made before its server runs.
* Every call carries a request id and a deadline; a reply that arrives after
  its call timed out is recognised by its id and discarded, so it is never
  taken for the answer to the next call.
* ZeroMQ reconnects by itself; with ``IMMEDIATE`` a call made while the server
  is down waits for the connection (up to its deadline) instead of queuing
  into a dead pipe, so a restarted server is simply found again.
* Remote failures are raised as :class:`RemoteError` subclasses.
* A call names the person it is made for (``on_behalf``) when its proxy
  does, or else when the code calling runs under :func:`acting_for` (a
  task run, a scheduled job, a scenario's firing): every proxy that code
  makes then calls for that person.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import zmq

from controlroom import wire
from controlroom.rpc import curve
from controlroom.rpc.errors import (
    CallTimeout,
    MessageTooLarge,
    ProxyClosed,
    RemoteError,
    ServerUnavailable,
)
from controlroom.rpc.frames import recv_frames, send_frame, send_frames
from controlroom.rpc.holding import Holding
from controlroom.wire.handshake import hello, welcomed

log = logging.getLogger(__name__)

_ids = itertools.count(1)
_SMALL = 4096  # requests below this size are never checked against the server's limit
_NOBLOCK = int(zmq.NOBLOCK)  # a plain int skips an enum conversion on every send
# Who the calls of this context (thread or task) are made for, when the proxy names nobody.
_ACTING_FOR: ContextVar[dict[str, str] | None] = ContextVar("controlroom_acting_for", default=None)


@contextmanager
def acting_for(caller: Mapping[str, str]) -> Iterator[None]:
    """Every call made in the ``with`` body (this thread or task) by a proxy that names
    nobody itself carries ``caller`` (``{user, role, via}``); threads it starts do not."""
    token = _ACTING_FOR.set(dict(caller))
    try:
        yield
    finally:
        _ACTING_FOR.reset(token)


class Proxy:
    """A connection to the control server at ``endpoint``."""

    # Public per-instance attributes: a generated device method must not hide them.
    INSTANCE_ATTRIBUTES = frozenset(
        {"endpoint", "name", "timeout", "connect_timeout", "client", "banner", "discarded"}
        | {"on_behalf"}
    )

    def __init__(
        self,
        endpoint: str,
        *,
        name: str = "",
        timeout: float = 5.0,
        client: str = "controlroom-proxy",
        context: zmq.Context[Any] | None = None,
        on_behalf: Mapping[str, str] | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        # How long the first call waits for the server's welcome, if not its whole timeout:
        # a server that is down is known as such in that time, not after a long command's.
        self.connect_timeout = connect_timeout
        # The person this proxy calls for ({user, role, via}); only a delegate key is believed.
        self.on_behalf = dict(on_behalf) if on_behalf else None
        self.name = name or endpoint
        self.timeout = timeout
        self.client = client
        self.banner: dict[str, Any] | None = None
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.discarded = 0  # late or foreign replies thrown away
        self._rcvtimeo = -1

    # -- public API -------------------------------------------------------------

    def call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``command`` with the proxy's default timeout."""
        return self.request(command, args, kwargs)

    def request(
        self,
        command: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Call ``command`` and wait at most ``timeout`` seconds for its reply."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            socket = self._socket
            if socket is None or self.banner is None:
                socket = self._greet(min(limit, self.connect_timeout or limit))
            request_id = next(_ids)
            deadline = time.monotonic() + limit
            caller = self.on_behalf if self.on_behalf is not None else _ACTING_FOR.get()
            frames = wire.encode_call(request_id, command, args, kwargs, caller=caller)
            if len(frames) > 1 or len(frames[0]) > _SMALL:
                self._check_size(command, frames)
                self._send(socket, frames, deadline)
            else:
                self._send_small(socket, frames[0], deadline)
            answer = self._await(socket, request_id, command, limit, deadline)
        if answer.kind == wire.envelope.REPLY:
            return answer.result
        return _raise_failure(answer).result

    def _check_size(self, command: str, frames: list[Any]) -> None:
        # The server would drop the connection on a larger message: refuse it here.
        limit = (self.banner or {}).get("max_message_bytes")
        size = sum(len(memoryview(f).cast("B")) for f in frames)
        if isinstance(limit, int) and size > limit:
            raise MessageTooLarge(
                f"{self.name}: {command} request of {size} bytes exceeds the server's "
                f"limit of {limit}"
            )

    def _greet(self, limit: float) -> zmq.Socket[bytes]:
        socket = self._connected()
        request_id = next(_ids)
        deadline = time.monotonic() + limit
        self._send(socket, wire.encode(hello(request_id, self.client)), deadline)
        try:
            greeting = self._await(socket, request_id, "hello", limit, deadline)
        except CallTimeout:
            raise ServerUnavailable(
                f"{self.name} does not answer at {self.endpoint} within {limit:g} s "
                f"({self._why_unreachable()})"
            ) from None
        self.banner = welcomed(_raise_failure(greeting))
        return socket

    def ping(self, timeout: float | None = None) -> str:
        return str(self.request("ping", timeout=timeout))

    def is_alive(self, timeout: float = 0.5) -> bool:
        """True if the server answers pong (a server with a dead thread refuses ping)."""
        try:
            return self.ping(timeout) == "pong"
        except (CallTimeout, RemoteError):
            return False

    def info(self) -> dict[str, Any]:
        return dict(self.request("info"))

    def process_status(self) -> dict[str, Any]:
        return dict(self.request("process_status"))

    def get_rates(self) -> dict[str, Any]:
        return dict(self.request("get_rates"))

    def set_rates(
        self, hk_period_s: float | None = None, status_period_s: float | None = None
    ) -> dict[str, Any]:
        kwargs = {"hk_period_s": hk_period_s, "status_period_s": status_period_s}
        return dict(self.request("set_rates", (), kwargs))

    def get_status(self) -> dict[str, Any] | None:
        return self.request("get_status")  # type: ignore[no-any-return]

    def get_housekeeping(self) -> dict[str, Any] | None:
        return self.request("get_housekeeping")  # type: ignore[no-any-return]

    def set_log_level(self, level: str, logger: str = "") -> str:
        return str(self.request("set_log_level", (level, logger)))

    def quit(self) -> str:
        return str(self.request("quit"))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._socket is not None:
                self._socket.close(linger=0)
                self._socket = None
                self._rcvtimeo = -1

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} at {self.endpoint}>"

    # -- internals ------------------------------------------------------------------

    def _connected(self) -> zmq.Socket[bytes]:
        if self._closed:
            raise ProxyClosed(f"proxy for {self.name} is closed")
        if self._socket is None:
            socket = curve.client_socket(self._context, zmq.DEALER)
            socket.setsockopt(zmq.LINGER, 0)
            socket.setsockopt(zmq.IMMEDIATE, 1)
            socket.setsockopt(zmq.RECONNECT_IVL, 50)
            socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
            socket.setsockopt(zmq.HEARTBEAT_IVL, 2000)
            socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 6000)
            socket.connect(self.endpoint)
            self._socket = socket
        return self._socket

    def _await(
        self, socket: zmq.Socket[bytes], request_id: int, what: str, limit: float, deadline: float
    ) -> wire.Envelope:
        wait_ms = max(1, int(limit * 1000))
        while True:
            if wait_ms != self._rcvtimeo:
                # A receive with a timeout costs less per call than poll + receive.
                socket.setsockopt(zmq.RCVTIMEO, wait_ms)
                self._rcvtimeo = wait_ms
            try:
                answer = self._receive(socket)
            except zmq.Again:
                answer, wait_ms = None, 0
            if answer is not None and answer.id == request_id:
                return answer
            if answer is not None:
                self.discarded += 1  # the late answer to an earlier call that timed out
            wait_ms = int((deadline - time.monotonic()) * 1000) if wait_ms else 0
            if wait_ms <= 0:
                raise CallTimeout(f"{self.name}: no reply to {what!r} within {limit:g} s")

    def _send_small(self, socket: zmq.Socket[bytes], frame: Any, deadline: float) -> None:
        """The common request: one small frame, sent at once while connected."""
        try:
            send_frame(socket, frame, _NOBLOCK)
        except zmq.Again:
            self._send(socket, [frame], deadline)

    def _send(self, socket: zmq.Socket[bytes], frames: list[Any], deadline: float) -> None:
        while True:
            try:
                send_frames(socket, frames, _NOBLOCK)
                return
            except zmq.Again:
                # No live connection yet (server not started, or restarting).
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0 or not socket.poll(remaining_ms, zmq.POLLOUT):
                    raise ServerUnavailable(
                        f"{self.name}: cannot reach {self.endpoint} ({self._why_unreachable()})"
                    ) from None

    def _why_unreachable(self) -> str:
        # ZeroMQ does not tell a refused handshake from a server that is down.
        security = curve.security_of(self._context)
        if security is None or security.keyring is None:
            return "down or unreachable; a server with CURVE keys refuses a client without them"
        return (
            f"down or unreachable, or it does not admit this client's key "
            f"{security.keyring.identity!r}"
        )

    def _receive(self, socket: zmq.Socket[bytes]) -> wire.Envelope | None:
        frames = recv_frames(socket)
        try:
            # The server is one we chose to call: its maps may have int keys.
            return wire.decode(frames, strict_keys=False)
        except wire.ProtocolError as exc:
            log.warning("%s: discarded a bad reply: %s", self.name, exc)
            return None

    # -- leases (controlroom.rpc.leases) -------------------------------------------

    def lease(self, seconds: float) -> dict[str, Any]:
        """Take this server for ``seconds``, or renew our lease: others may then only read.

        Raises a PermissionError naming the holder and the end of their lease if
        someone else holds it. Returns ``{server, holder, until, ...}``.
        """
        return dict(self.request("lease", (seconds,)))

    def release(self, force: bool = False) -> bool:
        """End our lease (False if there was none); an admin breaks another's with ``force``."""
        return bool(self.request("release", (), {"force": force}))

    def lease_status(self) -> dict[str, Any] | None:
        """Who holds this server and until when, or None."""
        return self.request("lease_status")  # type: ignore[no-any-return]

    def holding(self, seconds: float, renew_every: float | None = None) -> Holding:
        """``with proxy.holding(60):`` holds the lease while the block runs (see rpc.holding)."""
        renewer = Proxy(
            self.endpoint,
            name=self.name,
            timeout=self.timeout,
            client=self.client,
            context=self._context,
            on_behalf=self.on_behalf,
        )
        return Holding(self, renewer, seconds, renew_every)


def _raise_failure(answer: wire.Envelope) -> wire.Envelope:
    if answer.kind == wire.envelope.ERROR:
        assert answer.error is not None
        raise RemoteError.for_info(answer.error)
    return answer
