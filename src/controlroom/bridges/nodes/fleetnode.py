"""One simulated sensor node: connects, introduces itself, streams, obeys a few commands.

A ``fedm`` node reports photomultiplier pulses as a Poisson process of mean
``rate`` per second (``DATA PULSE <t_ns> <channel> <width_ns> <amplitude_mv>``,
widths and amplitudes drawn like real PMT pulses); a ``ctu`` node reports one
GPS pulse-per-second edge a second (``DATA TICK <t_ns> <seq> <offset_ns>``).
Both send ``HB <t>`` every second and ``STATUS ...`` every five, and with
probability ``malformed`` a line is replaced by a bad one. When the bridge
goes away the node reconnects with backoff, and says HELLO again.

Commands a node understands (from ``controlroom node send``): ``PING``
(answers ``LOG INFO PONG``), ``STATUS?``, ``RATE <per-s>``, ``HV <volts>``;
anything else gets ``LOG WARNING unknown command``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter

TICK_S = 0.02
HEARTBEAT_S, STATUS_S = 1.0, 5.0
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 2.0
BAD_LINES = (
    "DATA PULSE soon 3 12",
    "STATUS =5",
    "HB",
    "WHATEVER this is",
    "DATA PULSE 12345 99 12",
    "LOG LOUD too loud",
)


class SimNode:
    """A node of type ``node_type`` (``fedm`` or ``ctu``) that talks to the bridge at host:port."""

    def __init__(
        self,
        node_id: str,
        node_type: str,
        host: str,
        port: int,
        *,
        rate: float,
        malformed: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.node_id, self.node_type = node_id, node_type
        self.host, self.port = host, port
        self.rate = rate
        self.malformed = malformed
        self.hv = 1250
        self.sent: Counter[str] = Counter()  # lines written, by kind (MALFORMED for bad ones)
        self.connects = 0
        self.connected = asyncio.Event()
        self._random = random.Random(seed)
        self._replies: list[str] = []
        self._seq = 0
        self._started = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream until ``stop``, reconnect whenever the bridge goes away."""
        retry_s = RETRY_FIRST_S
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_s * (0.5 + self._random.random()))
                retry_s = min(RETRY_MAX_S, retry_s * 2)
                continue
            retry_s = RETRY_FIRST_S
            await self._session(reader, writer, stop)

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event
    ) -> None:
        self.connects += 1
        listener = asyncio.create_task(self._listen(reader))
        try:
            self._write(writer, [f"HELLO {self.node_id} {self.node_type} fw=2.1"], "HELLO")
            await writer.drain()
            self.connected.set()
            await self._stream(writer, stop, listener)
        except (ConnectionError, OSError):
            pass  # the bridge went away: reconnect
        finally:
            listener.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _stream(
        self, writer: asyncio.StreamWriter, stop: asyncio.Event, listener: asyncio.Task[None]
    ) -> None:
        now = time.monotonic()
        # A timing node's pulse per second comes on the whole UTC second.
        first = 1.0 - time.time() % 1.0 if self.node_type == "ctu" else self._gap()
        next_data = now + first
        next_hb, next_status = now, now + 0.1  # a heartbeat at once: alive
        while not stop.is_set() and not listener.done():
            now = time.monotonic()
            wall_ns = time.time_ns()
            lines: list[str] = []
            while next_data <= now:
                lines.append(self._data_line(wall_ns - int((now - next_data) * 1e9)))
                next_data += self._gap()
            self._write(writer, lines, "DATA")
            if now >= next_hb:
                self._write(writer, [f"HB {time.time():.3f}"], "HB")
                next_hb += HEARTBEAT_S
            if now >= next_status:
                self._write(writer, [self._status()], "STATUS")
                next_status += STATUS_S
            if self._replies:
                replies, self._replies = self._replies, []
                for reply in replies:
                    self._write(writer, [reply], reply.split(" ", 1)[0])
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, now + TICK_S - time.monotonic()))
        await writer.drain()

    def _gap(self) -> float:
        if self.node_type == "ctu":
            return 1.0
        return self._random.expovariate(self.rate) if self.rate > 0 else 3600.0

    def _data_line(self, t_ns: int) -> str:
        if self.node_type == "ctu":
            self._seq += 1
            return f"DATA TICK {t_ns} {self._seq} {int(self._random.gauss(0, 25))}"
        channel = self._random.randrange(4)
        width = max(2, int(self._random.gauss(12, 3)))
        amplitude = round(self._random.lognormvariate(3.5, 0.5) * self.hv / 1250, 1)
        return f"DATA PULSE {t_ns} {channel} {width} {amplitude}"

    def _status(self) -> str:
        uptime = time.monotonic() - self._started
        temp = 30.0 + self._random.gauss(0, 0.2)
        return f"STATUS hv={self.hv} temp_c={temp:.2f} rate={self.rate:g} uptime_s={uptime:.0f}"

    def _write(self, writer: asyncio.StreamWriter, lines: list[str], kind: str) -> None:
        if not lines:
            return
        if self.malformed > 0:
            lines = [self._maybe_bad(line, kind) for line in lines]
        else:
            self.sent[kind] += len(lines)
        writer.write(("\n".join(lines) + "\n").encode())

    def _maybe_bad(self, line: str, kind: str) -> str:
        if self._random.random() < self.malformed:
            self.sent["MALFORMED"] += 1
            return self._random.choice(BAD_LINES)
        self.sent[kind] += 1
        return line

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        """Obey the operator's lines; ends when the bridge closes the connection."""
        while line := await reader.readline():
            self._obey(line.decode(errors="replace").strip())

    def _obey(self, text: str) -> None:
        word, _, arg = text.partition(" ")
        command = word.upper()
        if command in ("OK", "ERR", ""):
            return  # the bridge's answers to HELLO
        if command == "PING":
            self._replies.append("LOG INFO PONG")
        elif command == "STATUS?":
            self._replies.append(self._status())
        elif command in ("RATE", "HV") and _number(arg) is not None:
            value = _number(arg)
            if command == "RATE":
                self.rate = max(0.0, float(value or 0))
            else:
                self.hv = int(value or 0)
            self._replies.append(f"LOG INFO {command.lower()} set to {arg}")
        else:
            self._replies.append(f"LOG WARNING unknown command {text[:60]}")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
