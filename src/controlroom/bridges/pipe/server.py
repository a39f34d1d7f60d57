"""The pipe-command server: plain TCP, many clients, one reply line per request line.

Made for clients in LabVIEW, C or a shell (``printf 'dummy|read_value\\n' |
nc host 7900``). :class:`PipeServer` runs an asyncio loop on its own thread,
so it is started and stopped like the other servers (``start()``,
``stop()``, or ``with``). The protocol is described in
:mod:`controlroom.bridges.pipe.protocol`; the limits come from the Settings
(``bridges.pipe``):

* a line longer than ``max_line_bytes`` is answered with ``ERR`` and its
  connection closed (the rest of the line cannot be told from the next one);
* beyond ``max_clients`` clients, a new one is told ``ERR too many
  clients`` and closed;
* with clients or a token set, a connection that has not sent its token
  within ``auth_timeout_s`` is told so and closed, and at most
  ``max_unauthenticated`` connections wait for their token, apart from the
  ``max_clients`` (see :mod:`controlroom.bridges.pipe.admission`);
* a connection silent for ``idle_timeout_s`` is closed;
* a request gets ``request_timeout_s`` to be answered.

A client's requests are answered in order; different clients are served at
the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Self

from controlroom.bridges.pipe.admission import Admission
from controlroom.bridges.pipe.config import PipeConfig
from controlroom.bridges.pipe.errors import PipeError
from controlroom.bridges.pipe.protocol import err_line
from controlroom.bridges.pipe.router import Router
from controlroom.bridges.pipe.session import UNAUTHORISED, Session
from controlroom.rpc.lifecycle import Startable

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
_NEWLINE = b"\n"
# Each argon2 token check takes a core and 64 MiB while it runs: a few at once, the rest wait.
TOKEN_CHECKS_AT_ONCE = 2


class PipeServer(Startable):
    """Serves ``Device|command`` requests from plain TCP clients until stopped."""

    def __init__(self, config: PipeConfig, *, router: Router | None = None) -> None:
        config.check()
        self.config = config
        self.router = router or Router(config)
        self.address: tuple[str, int] = (config.host, config.port)
        self._executor = ThreadPoolExecutor(config.max_clients, thread_name_prefix="pipe-call")
        self._tokens = config.tokens()
        self._checks = ThreadPoolExecutor(TOKEN_CHECKS_AT_ONCE, thread_name_prefix="pipe-token")
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        # Every open connection's writer, by its task: to close it when evicted or stopping.
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._admission: Admission[asyncio.Task[None]] = Admission(
            max_members=config.max_clients, max_newcomers=config.max_unauthenticated
        )

    @property
    def url(self) -> str:
        host, port = self.address
        return f"tcp://{host}:{port}"

    @property
    def clients(self) -> int:
        """Connections open now."""
        return len(self._connections)

    def start(self) -> Self:
        """Listen, serve on a thread, and return once connections are accepted."""
        self._thread = threading.Thread(target=self._run, name="pipe-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise PipeError(f"the pipe server did not start within {_START_TIMEOUT_S:g} s")
        if self._failure is not None:
            self._thread.join()
            raise PipeError(
                f"cannot listen on {self.config.host}:{self.config.port}: {self._failure}"
            ) from self._failure
        log.info("pipe server listening on %s", self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the listener; idempotent."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._checks.shutdown(wait=False, cancel_futures=True)
        self.router.close()

    # -- the loop's thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start(), or logged if it fails later
            if not self._ready.is_set():
                self._failure = exc
                self._ready.set()
            else:
                log.exception("pipe server stopped on an error")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._connection,
            self.config.host,
            self.config.port,
            limit=self.config.max_line_bytes,
        )
        host, port = server.sockets[0].getsockname()[:2]
        self.address = (str(host), int(port))
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = _peer_of(writer)
        session = Session(
            peer,
            tokens=self._tokens,
            router=self.router,
            executor=self._executor,
            checks=self._checks,
        )
        arrival = self._admission.arrive(task, member=session.authorised)
        if not arrival.admitted:
            log.warning("pipe %s: refused, already %d clients", peer, self.config.max_clients)
            await _say_and_close(writer, self._too_many_clients())
            return
        if arrival.evicted is not None:
            self._evict(arrival.evicted)
        self._connections[task] = writer
        log.info("pipe %s: connected", peer)
        try:
            await self._converse(session, reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away, was evicted, or the server stops
        finally:
            self._connections.pop(task, None)
            self._admission.leave(task)
            log.info("pipe %s: closed after %d requests", peer, session.requests)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    def _too_many_clients(self) -> str:
        return err_line(f"too many clients ({self.config.max_clients})")

    def _evict(self, task: asyncio.Task[None]) -> None:
        """Close a connection still waiting for its token, to make room for a newer one."""
        writer = self._connections.get(task)
        if writer is None:
            return
        quota = self.config.max_unauthenticated
        log.warning("pipe %s: closed, %d others wait for their TOKEN", _peer_of(writer), quota)
        line = _unauthorised(f"too many connections without a TOKEN ({quota}); closing the oldest")
        with contextlib.suppress(ConnectionError, RuntimeError):  # RuntimeError: already closed
            writer.write(line.encode() + _NEWLINE)
        task.cancel()  # its own clean-up closes the socket, once that line is out

    async def _converse(
        self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        token_deadline = loop.time() + self.config.auth_timeout_s
        while not session.closing:
            wait_s = self.config.idle_timeout_s
            if not session.authorised:  # talking without the token does not buy time
                wait_s = min(wait_s, max(0.0, token_deadline - loop.time()))
            try:
                raw = await asyncio.wait_for(reader.readuntil(_NEWLINE), wait_s)
            except TimeoutError:
                await self._timed_out(session, writer, late=loop.time() >= token_deadline)
                return
            except asyncio.IncompleteReadError as exc:  # end of stream: a last unended line
                raw, session.closing = exc.partial, True
                if not raw.strip():
                    return
            except asyncio.LimitOverrunError:
                limit = self.config.max_line_bytes
                log.warning("pipe %s: line longer than %d bytes", session.peer, limit)
                await _say_and_close(writer, err_line(f"line longer than {limit} bytes; closing"))
                return
            was_authorised = session.authorised
            reply = await session.answer(raw)
            if session.authorised and not was_authorised and not self._promote(session):
                await _say_and_close(writer, self._too_many_clients())
                return
            if reply is not None:
                writer.write(reply.encode() + _NEWLINE)
                await writer.drain()

    def _promote(self, session: Session) -> bool:
        task = asyncio.current_task()
        assert task is not None
        if self._admission.promote(task):
            return True
        log.warning("pipe %s: refused, already %d clients", session.peer, self.config.max_clients)
        return False

    async def _timed_out(
        self, session: Session, writer: asyncio.StreamWriter, *, late: bool
    ) -> None:
        if session.authorised or not late:
            log.info("pipe %s: idle for %g s", session.peer, self.config.idle_timeout_s)
            return
        limit = self.config.auth_timeout_s
        log.warning("pipe %s: no TOKEN within %g s", session.peer, limit)
        await _say_and_close(writer, _unauthorised(f"no TOKEN within {limit:g} s; closing"))


def _unauthorised(why: str) -> str:
    return err_line(f"{UNAUTHORISED}: {why}")


async def _say_and_close(writer: asyncio.StreamWriter, line: str) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(line.encode() + _NEWLINE)
        await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def _peer_of(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "?")
