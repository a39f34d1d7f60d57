"""One client connection's conversation: request lines in, one reply line each.

A :class:`Session` knows who its client is (the identity its token gave,
see :mod:`.clients`), turns a received line into a reply line, and logs
every request (who, what, outcome). Device requests run on a thread pool,
because proxies block, each made for the client's identity; a request that
overruns its time gets ``ERR timeout`` and the connection goes on. Tokens
are checked on their own few threads (argon2 is slow on purpose), so
checking them never holds up requests. Whatever goes wrong with one
request, the session answers ``ERR`` and keeps serving; only a wrong token
ends it (``closing``).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from controlroom.bridges.pipe.clients import PipeIdentity, Tokens
from controlroom.bridges.pipe.errors import RequestRefused
from controlroom.bridges.pipe.protocol import (
    TOKEN_WORD,
    DeviceRequest,
    PingRequest,
    TokenRequest,
    decode_line,
    err_line,
    parse_request,
    shorten,
)
from controlroom.bridges.pipe.router import Router

log = logging.getLogger(__name__)

UNAUTHORISED = "unauthorised"
_LOGGED_CHARS = 300  # of a request or reply in the log
_GRACE_S = 1.0  # the router keeps its own deadline; this only catches a stuck thread


class Session:
    """The state of one connection: its peer, who it is (None until its token), whether it ends.

    ``executor`` runs device requests, ``checks`` token checks.
    """

    def __init__(
        self, peer: str, *, tokens: Tokens, router: Router, executor: Executor, checks: Executor
    ) -> None:
        self.peer = peer
        self._tokens = tokens
        self._router = router
        self._executor = executor
        self._checks = checks
        self.identity: PipeIdentity | None = tokens.anonymous
        self.closing = False
        self.requests = 0

    @property
    def authorised(self) -> bool:
        return self.identity is not None

    async def answer(self, raw: bytes) -> str | None:
        """The reply line for one received line (None for a blank line, which gets none)."""
        try:
            text = decode_line(raw)
            if not text:
                return None
            request = parse_request(text)
        except RequestRefused as exc:
            return self._logged(_seen(raw), err_line(str(exc)))
        self.requests += 1
        if isinstance(request, TokenRequest):
            return self._logged("TOKEN ***", await self._authorise(request.token))
        if self.identity is None:
            return self._logged(text, err_line(f"{UNAUTHORISED}: send TOKEN <token> first"))
        if isinstance(request, PingRequest):
            return self._logged(text, "OK pong")
        return self._logged(text, await self._device_reply(request, self.identity))

    async def _authorise(self, given: str) -> str:
        if not self._tokens.required:  # nothing to prove: the connection stays anonymous
            return "OK authorised"
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(self._checks, self._tokens.identify, given)
        except RuntimeError as exc:  # the executor is shut down: the server is stopping
            self.closing = True
            return err_line(f"server stopping: {exc}")
        if found is None:
            self.closing = True  # a client with the wrong token is misconfigured: no guessing on
            return err_line(f"{UNAUTHORISED}: wrong token")
        self.identity = found
        return "OK authorised"  # who it is shows in the log and in the servers' journals

    async def _device_reply(self, request: DeviceRequest, identity: PipeIdentity) -> str:
        loop = asyncio.get_running_loop()
        limit = self._router.config.request_timeout_s + _GRACE_S
        caller = identity.on_behalf()
        try:
            work = loop.run_in_executor(self._executor, self._router.handle, request, caller)
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            return err_line(f"timeout: {request.device} did not answer within {limit:g} s")
        except RuntimeError as exc:  # the executor is shut down: the server is stopping
            return err_line(f"server stopping: {exc}")
        except Exception as exc:  # a bug must cost one request, not the server
            log.exception("pipe: %s %s|%s failed", self.peer, request.device, request.command)
            return err_line(f"internal error: {type(exc).__name__}: {exc}")

    def _logged(self, what: str, reply: str) -> str:
        level = logging.INFO if reply.startswith("OK") else logging.WARNING
        log.log(
            level,
            "pipe %s (%s): %s -> %s",
            self.peer,
            self.identity.name if self.identity else "no token yet",
            shorten(what, _LOGGED_CHARS),
            shorten(reply, _LOGGED_CHARS),
        )
        return reply


def _seen(raw: bytes) -> str:
    """A refused line as it may be logged: never a token, even a garbled one."""
    if raw.lstrip()[: len(TOKEN_WORD)].upper() == TOKEN_WORD.encode():
        return "TOKEN *** (garbled)"
    return repr(shorten(raw.decode("utf-8", "replace"), 80))
