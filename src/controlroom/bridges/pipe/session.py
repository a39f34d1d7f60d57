"""One client connection's conversation: request lines in, one reply line each.

A :class:`Session` knows whether its client has proved the token, turns a
received line into a reply line, and logs every request (who, what,
outcome). Device requests run on a thread pool, because proxies block; a
request that overruns its time gets ``ERR timeout`` and the connection goes
on. Whatever goes wrong with one request, the session answers ``ERR`` and
keeps serving; only a wrong token ends it (``closing``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from concurrent.futures import Executor

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
    """The state of one connection: its peer, whether it is authorised, whether it ends."""

    def __init__(self, peer: str, *, token: str, router: Router, executor: Executor) -> None:
        self.peer = peer
        self._token = token.encode()
        self._router = router
        self._executor = executor
        self.authorised = not token
        self.closing = False
        self.requests = 0

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
            return self._logged("TOKEN ***", self._authorise(request.token))
        if not self.authorised:
            return self._logged(text, err_line(f"{UNAUTHORISED}: send TOKEN <token> first"))
        if isinstance(request, PingRequest):
            return self._logged(text, "OK pong")
        return self._logged(text, await self._device_reply(request))

    def _authorise(self, given: str) -> str:
        if hmac.compare_digest(given.encode(), self._token) or not self._token:
            self.authorised = True
            return "OK authorised"
        self.closing = True  # a client with the wrong token is misconfigured: no guessing on
        return err_line(f"{UNAUTHORISED}: wrong token")

    async def _device_reply(self, request: DeviceRequest) -> str:
        loop = asyncio.get_running_loop()
        limit = self._router.config.request_timeout_s + _GRACE_S
        try:
            work = loop.run_in_executor(self._executor, self._router.handle, request)
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
            "pipe %s: %s -> %s",
            self.peer,
            shorten(what, _LOGGED_CHARS),
            shorten(reply, _LOGGED_CHARS),
        )
        return reply


def _seen(raw: bytes) -> str:
    """A refused line as it may be logged: never a token, even a garbled one."""
    if raw.lstrip()[: len(TOKEN_WORD)].upper() == TOKEN_WORD.encode():
        return "TOKEN *** (garbled)"
    return repr(shorten(raw.decode("utf-8", "replace"), 80))
