"""The TCP side of the bridge: an asyncio server, in a thread of its own, for many nodes.

Each connection reads chunks and splits them into lines itself (one await per
chunk, not per line: a node sends hundreds a second). The first line must be
``HELLO <node-id> <node-type>``; lines before it are counted as unidentified
and answered once with ``ERR say HELLO <node-id> <node-type> first``. The
answer to a HELLO is ``OK HELLO <node-id>``. A node that connects again under
the same id takes over its entry; the older connection is closed.

Backpressure: before each read the connection asks ``pressure()``; while it
says the rows waiting for storage are too many, no connection reads, so TCP
flow control slows the nodes down instead of rows being dropped later. A line
longer than ``max_line_bytes`` is malformed (:mod:`.framing`).

Every byte taken from a socket is read to its lines: when a node closes, even
abruptly (a reset, which its kernel sends when it closes with our answer
unread), the lines already received are handled, the last one too when it has
no newline. A line the bridge fails to handle is counted as malformed and the
connection goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from controlroom.bridges.nodes.errors import LineError, NodeBridgeError
from controlroom.bridges.nodes.framing import LineSplitter
from controlroom.bridges.nodes.grammar import Hello, parse_line
from controlroom.bridges.nodes.intake import Intake
from controlroom.bridges.nodes.network import NodeState

log = logging.getLogger(__name__)

CHUNK_BYTES = 65536
PAUSE_S = 0.005  # how often a paused connection looks at the pressure again
MAX_UNREAD_BYTES = 65536  # queued for a node that does not read: sending more is refused
HELLO_FIRST = b"ERR say HELLO <node-id> <node-type> first\n"


class _NodeReader(asyncio.StreamReader):
    """A node's incoming bytes; ``reset`` tells the node ended with a reset, not a close."""

    reset: ConnectionError | None = None


class _NodeProtocol(asyncio.StreamReaderProtocol):
    """Ends a reset stream like a closed one, so what it had received is still read.

    The stock protocol fails the reader on a reset: its next read raises and
    the bytes it had buffered (up to two chunks of lines) are lost uncounted.
    """

    def __init__(
        self,
        reader: _NodeReader,
        connected: Callable[..., Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(reader, connected, loop=loop)
        self._node_reader = reader

    def connection_lost(self, exc: Exception | None) -> None:
        if isinstance(exc, ConnectionError):
            self._node_reader.reset = exc
            exc = None
        super().connection_lost(exc)


class _Connection:
    def __init__(self, writer: asyncio.StreamWriter, address: str) -> None:
        self.writer = writer
        self.address = address
        self.state: NodeState | None = None
        self.told = False  # told to say HELLO
        self.failed = False  # a line failed here already (its traceback was logged)


class NodeServer:
    """Serve node connections on ``host:port`` until :meth:`stop`; lines go to ``intake``."""

    def __init__(
        self,
        intake: Intake,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_line_bytes: int = 1024,
        pressure: Callable[[], bool] = lambda: False,
        on_change: Callable[[str, NodeState], None] = lambda event, state: None,
        tick: Callable[[], None] = lambda: None,
        tick_s: float = 0.2,
    ) -> None:
        self.intake = intake
        self.host, self.port = host, port
        self.max_line_bytes = max_line_bytes
        self.pressure = pressure
        self.on_change = on_change  # "node_connected" / "node_disconnected"
        self.tick, self.tick_s = tick, tick_s
        self.paused_s = 0.0
        self.paused_now = 0  # connections waiting for the backlog to shrink
        self._conns: dict[str, _Connection] = {}  # identified connections by node id
        self._open: set[_Connection] = set()  # every connection, identified or not
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self, timeout: float = 10.0) -> None:
        """Bind and start serving; returns once the port is open (raises if it cannot be)."""
        self._thread = threading.Thread(target=self._run, name="node-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._failure is not None:
            self.stop()
            raise NodeBridgeError(
                f"cannot serve nodes on {self.host}:{self.port}: {self._failure or 'timed out'}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Close every node connection and the port; idempotent."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def send(self, node_id: str, text: str, timeout: float = 2.0) -> int:
        """Write ``text`` and a newline to a connected node; returns the bytes queued."""
        if self._loop is None or self._loop.is_closed():
            raise NodeBridgeError("the node server is not running")
        future = asyncio.run_coroutine_threadsafe(self._send(node_id, text), self._loop)
        return future.result(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); a bind failure ends here
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[Any]] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._serve(reader, writer)
            except asyncio.CancelledError:
                pass  # cancelled by our own shutdown: end quietly
            finally:
                handlers.discard(task)

        loop = self._loop

        def protocol() -> _NodeProtocol:
            return _NodeProtocol(_NodeReader(loop=loop), handle, loop)

        server = await self._loop.create_server(protocol, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        ticker = asyncio.create_task(self._ticker())
        self._ready.set()
        log.info("serving sensor nodes on %s:%d", self.host, self.port)
        await self._stop.wait()
        self._closing = True
        ticker.cancel()
        server.close()
        for conn in list(self._open):
            conn.writer.close()
        if handlers:  # closed connections end their handlers; cancel what lingers
            await asyncio.wait(set(handlers), timeout=1.0)
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, ticker, return_exceptions=True)
        await server.wait_closed()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.tick()
            except Exception:
                log.exception("node bridge tick failed")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        conn = _Connection(writer, f"{peer[0]}:{peer[1]}")
        self._open.add(conn)
        try:
            await self._read(conn, reader)
        except (ConnectionError, OSError) as exc:
            log.info("node connection %s: %s", conn.address, exc)
        else:
            reset = getattr(reader, "reset", None)
            if reset is not None:
                log.info("node connection %s: %s (what it had sent was read)", conn.address, reset)
        finally:
            self._open.discard(conn)
            self._gone(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        splitter = LineSplitter(self.max_line_bytes)
        while True:
            if self.pressure():
                await self._wait_for_room()
            chunk = await reader.read(CHUNK_BYTES)
            if not chunk:
                self._lines(conn, splitter.finish())
                return
            self._lines(conn, splitter.feed(chunk))

    def _lines(self, conn: _Connection, lines: list[tuple[bytes, bool]]) -> None:
        now = time.time()
        for raw, overlong in lines:
            if overlong:
                reason = f"longer than {self.max_line_bytes} bytes"
                self.intake.malformed(conn.state, raw[:40].decode(errors="replace"), reason, now)
                continue
            text = raw.decode("utf-8", "replace")
            try:
                self._line(conn, text, now)
            except Exception as exc:  # one line must not cost the node the lines behind it
                if not conn.failed:  # the first traceback tells the bug; the rest are counted
                    conn.failed = True
                    log.exception("node connection %s: cannot handle a line", conn.address)
                reason = f"cannot be handled ({type(exc).__name__})"
                self.intake.malformed(conn.state, text, reason, now)

    async def _wait_for_room(self) -> None:
        started = time.monotonic()
        self.paused_now += 1
        try:
            while self.pressure() and not self._closing:
                await asyncio.sleep(PAUSE_S)
        finally:
            self.paused_now -= 1
            self.paused_s += time.monotonic() - started

    def _line(self, conn: _Connection, text: str, now: float) -> None:
        if conn.state is not None:
            self.intake.take(conn.state, text, now)
            return
        try:
            line = parse_line(text)
        except LineError as exc:
            self._unidentified(conn, text, str(exc), now)
            return
        if isinstance(line, Hello):
            self._hello(conn, line, now)
        elif line is not None:
            self._unidentified(conn, text, "no HELLO yet", now)

    def _unidentified(self, conn: _Connection, text: str, reason: str, now: float) -> None:
        self.intake.malformed(None, text, f"{conn.address}: {reason}", now)
        if not conn.told:
            conn.told = True
            conn.writer.write(HELLO_FIRST)

    def _hello(self, conn: _Connection, hello: Hello, now: float) -> None:
        older = self._conns.get(hello.node_id)
        conn.state = self.intake.network.join(hello, conn.address, now)
        self._conns[hello.node_id] = conn
        if older is not None:
            log.info(
                "node %s is back from %s; closing %s", hello.node_id, conn.address, older.address
            )
            older.state = None  # its end must not mark the node gone
            older.writer.close()
        conn.writer.write(f"OK HELLO {hello.node_id}\n".encode())
        self.intake.stream.add(hello.node_id, now, "<", f"HELLO {hello.node_id} {hello.node_type}")
        self.on_change("node_connected", conn.state)

    def _gone(self, conn: _Connection) -> None:
        state = conn.state
        if state is None or self._conns.get(state.node_id) is not conn:
            return
        del self._conns[state.node_id]
        self.intake.network.leave(state)
        self.on_change("node_disconnected", state)

    async def _send(self, node_id: str, text: str) -> int:
        conn = self._conns.get(node_id.lower())
        if conn is None:
            connected = ", ".join(sorted(self._conns)) or "none"
            raise NodeBridgeError(f"node {node_id!r} is not connected (connected: {connected})")
        if conn.writer.transport.get_write_buffer_size() > MAX_UNREAD_BYTES:
            raise NodeBridgeError(f"node {node_id!r} is not reading what it is sent")
        data = (text + "\n").encode()
        conn.writer.write(data)
        return len(data)
