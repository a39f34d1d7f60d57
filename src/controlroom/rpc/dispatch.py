"""Turning a received message into work, and work into a reply, without any I/O.

The server's socket loop calls :meth:`Dispatcher.route` for each message: it
either answers at once (handshake, bad frame, refusal, service command) or
says the message is a device command to run in order. Every call is checked
here against the caller's role (:mod:`controlroom.rpc.access`) and the
guards (leases), before anything runs. Keeping this free of sockets lets
the protocol be tested in memory and keeps the loop small.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any

from controlroom import wire
from controlroom.rpc.access import READ, Caller, CallerResolver, Forbidden, refusal
from controlroom.rpc.errors import UnknownCommand
from controlroom.rpc.served import Served
from controlroom.wire import Envelope, ErrorInfo, ProtocolError
from controlroom.wire.handshake import accept

log = logging.getLogger(__name__)

ServiceHandler = Callable[..., Any]
# A guard sees every admitted call (caller, envelope, access class) and raises to refuse it.
Guard = Callable[[Caller, Envelope, str], None]
# A device call's reply frames, plus its result or error for the command observers.
Settled = tuple[list[wire.codec.Frame], Any, ErrorInfo | None]
UNADMITTED = "unadmitted"  # a key ZAP let in that has been revoked since
# A service handler with this keyword-only parameter is told who calls (the lease commands).
CALLER = "caller"


@dataclass(slots=True)
class Outcome:
    """What to do with one message: ``reply`` frames now, or run ``call`` on the device.

    ``caller`` is who sent a call; ``journal`` says the reply is to a call the
    command journal records (a refusal, or a service command that changes
    something), with its ``result`` or ``error``. Made once per message and
    read once: not frozen, because a frozen dataclass costs three times as much
    to make (each field set through ``object.__setattr__``).
    """

    reply: list[wire.codec.Frame] | None = None
    call: Envelope | None = None
    caller: Caller | None = None
    journal: bool = False
    env: Envelope | None = None  # the journaled call
    result: Any = None
    error: ErrorInfo | None = None


class Dispatcher:
    """Routes envelopes to service commands or the device; builds the replies."""

    def __init__(
        self,
        name: str,
        served: Served,
        services: Mapping[str, ServiceHandler],
        *,
        max_bytes: int = wire.envelope.MAX_MESSAGE_BYTES,
        features: Sequence[str] = (),
        service_access: Mapping[str, str] | None = None,
        callers: CallerResolver | None = None,
    ) -> None:
        self.name = name
        self.served = served
        self.services = dict(services)
        self.device_commands = frozenset(served.names())
        clash = self.device_commands & self.services.keys()
        if clash:
            raise ValueError(f"device commands shadow service commands: {sorted(clash)}")
        access = service_access or {}
        self.access: dict[str, str] = {
            **{name: served.access(name) for name in self.device_commands},
            **{name: access.get(name, READ) for name in self.services},
        }
        self.callers = callers or CallerResolver()
        self.caller_aware = frozenset(n for n, h in self.services.items() if _takes_caller(h))
        self.guards: list[Guard] = []
        self.max_bytes = max_bytes
        self.features = list(features)
        self.malformed = 0
        self.refused = 0

    def route(self, frames: Sequence[wire.codec.Frame], user_id: str | None = None) -> Outcome:
        """What to do with one message; ``user_id``: the client key ZAP admitted (CURVE)."""
        try:
            env = wire.decode(frames, max_bytes=self.max_bytes)
        except ProtocolError as exc:
            self.malformed += 1
            return Outcome(reply=self.error(exc.request_id or 0, exc))
        if env.kind == wire.envelope.HELLO:
            return Outcome(reply=self._handshake(env))
        if env.kind != wire.envelope.CALL:
            self.malformed += 1
            bad = ProtocolError(f"a server accepts call and hello, not {env.kind!r}")
            return Outcome(reply=self.error(env.id, bad))
        access = self.access.get(env.command)
        if access is None:
            unknown = UnknownCommand(f"{self.name} has no command {env.command!r}")
            return Outcome(reply=self.error(env.id, unknown))
        try:
            caller = self.admit(env, user_id, access)
        except Forbidden as exc:
            return self._refuse(env, user_id, exc)
        handler = self.services.get(env.command)
        if handler is None:
            return Outcome(call=env, caller=caller)
        if access == READ:
            return Outcome(reply=self.run(env, handler, caller), caller=caller)
        return self._run_journaled(env, handler, caller)

    def admit(self, env: Envelope, user_id: str | None, access: str) -> Caller:
        """The caller of ``env``, if they may run it now; Forbidden (or a guard's error) if not."""
        caller = self.callers.resolve(user_id, env.caller)
        if not caller.may(access, self.name):
            raise refusal(caller, self.name, env.command, access)
        for guard in self.guards:
            guard(caller, env, access)
        return caller

    def _refuse(self, env: Envelope, user_id: str | None, exc: Forbidden) -> Outcome:
        self.refused += 1
        info = ErrorInfo.from_exception(exc, origin=self.name)
        reply = wire.encode(wire.failure(env.id, info))
        return Outcome(
            reply=reply, caller=self._who(env, user_id), journal=True, env=env, error=info
        )

    def _who(self, env: Envelope, user_id: str | None) -> Caller:
        """Who a refused message came from, as far as it can be believed (for the journal)."""
        for claimed in (env.caller, None):
            try:
                return self.callers.resolve(user_id, claimed)
            except Forbidden:
                continue
        return Caller(UNADMITTED, "viewer")

    def _run_journaled(self, env: Envelope, handler: ServiceHandler, caller: Caller) -> Outcome:
        try:
            result = self._call_service(env, handler, caller)
        except Exception as exc:
            info = ErrorInfo.from_exception(exc, origin=self.name)
            reply = wire.encode(wire.failure(env.id, info))
            return Outcome(reply=reply, caller=caller, journal=True, env=env, error=info)
        reply = self._reply(env, result)
        return Outcome(reply=reply, caller=caller, journal=True, env=env, result=result)

    def run_device(self, env: Envelope) -> list[wire.codec.Frame] | None:
        return self.run_device_observed(env)[0]

    def run_device_observed(
        self, env: Envelope
    ) -> tuple[list[wire.codec.Frame] | None, Any, ErrorInfo | None]:
        """The reply frames, plus the result or the error, for observers.

        A command that returns a :class:`~concurrent.futures.Future` answers
        later (:mod:`controlroom.rpc.deferred`): no frames yet, and the result
        is the future; :meth:`settled` makes its reply once it is done.
        """
        try:
            result = self.served.invoke(env.command, env.args, env.kwargs)
        except Exception as exc:
            log.debug("%s: command %s failed", self.name, env.command, exc_info=True)
            return self.failed(env, exc)
        if isinstance(result, Future):
            return None, result, None
        return self._reply(env, result), result, None

    def settled(self, env: Envelope, future: Future[Any]) -> Settled:
        """The reply to a deferred call whose future is done, as if the command returned it."""
        if future.cancelled():
            cancelled = CancelledError(f"{env.command} was cancelled before it completed")
            return self.failed(env, cancelled)
        error = future.exception()
        if error is not None:
            log.debug("%s: command %s failed", self.name, env.command, exc_info=error)
            return self.failed(env, error)
        result = future.result()
        return self._reply(env, result), result, None

    def failed(self, env: Envelope, exc: BaseException) -> Settled:
        """The failure reply to a device call, and its error for observers."""
        info = ErrorInfo.from_exception(exc, origin=self.name)
        return wire.encode(wire.failure(env.id, info)), None, info

    def run(self, env: Envelope, handler: ServiceHandler, caller: Caller) -> list[wire.codec.Frame]:
        try:
            result = self._call_service(env, handler, caller)
        except Exception as exc:
            log.debug("%s: command %s failed", self.name, env.command, exc_info=True)
            return self.error(env.id, exc)
        return self._reply(env, result)

    def _call_service(self, env: Envelope, handler: ServiceHandler, caller: Caller) -> Any:
        if env.command not in self.caller_aware:
            return handler(*env.args, **env.kwargs)
        if CALLER in env.kwargs:  # who calls is decided here, never claimed by the client
            raise Forbidden(f"{env.command}: a client may not pass {CALLER!r}")
        return handler(*env.args, **env.kwargs, caller=caller)

    def _reply(self, env: Envelope, result: Any) -> list[wire.codec.Frame]:
        try:
            return wire.encode_reply(env.id, result)
        except wire.EncodeError as exc:
            return self.error(env.id, exc)

    def error(self, request_id: int, exc: BaseException) -> list[wire.codec.Frame]:
        info = ErrorInfo.from_exception(exc, origin=self.name)
        return wire.encode(wire.failure(request_id, info))

    def _handshake(self, env: Envelope) -> list[wire.codec.Frame]:
        try:
            banner = accept(env, self.name, self.features, max_message_bytes=self.max_bytes)
            return wire.encode(banner)
        except ProtocolError as exc:
            return self.error(env.id, exc)


def _takes_caller(handler: ServiceHandler) -> bool:
    try:
        parameter = inspect.signature(handler).parameters.get(CALLER)
    except (TypeError, ValueError):  # a callable without a signature: told nothing
        return False
    return parameter is not None and parameter.kind is inspect.Parameter.KEYWORD_ONLY
