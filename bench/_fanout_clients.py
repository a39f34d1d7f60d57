"""Child role of web_fanout.py: many lean WebSocket clients in one process.

``_fanout_clients.py <url> <count> <topic>`` opens ``count`` WebSockets on
``/ws?topics=<topic>``, prints ``READY <count>``, then reads one line
``<start> <end>`` (wall-clock seconds) on stdin, and prints ``RESULT {json}``
once ``end`` has passed: every latency seen in the window, the samples missing
in each client's HK sequence and the clients that saw nothing. It keeps the
sockets open (answering pings) until stdin closes, so the parent can read the
panel's counters first.

A latency is the sample's publish time stamp to the time the kernel received
the bytes carrying it on this socket (``SO_TIMESTAMPNS``), not the time this
process got round to reading them: with hundreds of sockets in one process,
reading them one after the other would add the clients' own delay to what is
measured. The clients are plain sockets parsing frames by hand, cheaper than
``websockets`` connections, since they share the machine's cores with the
panel. Like a browser they offer ``permessage-deflate`` and inflate what comes
compressed, so the panel does the work it does for real pages.
"""

from __future__ import annotations

import base64
import json
import os
import selectors
import socket
import struct
import sys
import time
import zlib
from urllib.parse import urlsplit

SO_TIMESTAMPNS = 35  # Linux: the kernel's receive time of what a recvmsg returns
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA
DEFLATE_TAIL = b"\x00\x00\xff\xff"
ANCILLARY = socket.CMSG_SPACE(16)  # one struct timespec


class Follower:
    """One WebSocket following the bench's HK topic."""

    def __init__(self, url: str, topic: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.latencies: list[float] = []
        self.seqs: list[int] = []
        self.closed = False
        self._received = time.time()  # when the frame under way arrived (the kernel's time)
        self._inflate: zlib._Decompress | None = None
        self._buffer = self._handshake(upgrade_request(parts.netloc, parts.scheme, topic))
        self.sock.setblocking(False)

    def read(self, window: tuple[float, float] | None) -> None:
        """Take the frames that have come, reading no further than the end of each."""
        while not self.closed:
            frame = self._frame()
            if frame is None:
                if not self._receive():
                    return
                continue
            opcode, payload = frame
            if opcode == TEXT and window is not None:
                self._take(json.loads(payload), self._received, window)
            elif opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                self.closed = True

    def _receive(self) -> bool:
        """Read the rest of the frame under way; False when nothing more has come yet.

        The kernel stamps a read with the arrival of the last segment it took from:
        a read reaching into the next frame would give this one that frame's time,
        a whole period later when this process was slow to read.
        """
        try:
            data, ancillary, _, _ = self.sock.recvmsg(self._wanted(), ANCILLARY)
        except BlockingIOError:
            return False
        if not data:
            self.closed = True
            return False
        self._buffer += data
        self._received = time.time()
        for level, kind, stamp in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", stamp)
                self._received = seconds + nanoseconds * 1e-9
        return True

    def _wanted(self) -> int:
        """Bytes missing from the frame under way (its first 4 until its length is known)."""
        buffer = self._buffer
        if len(buffer) < 4:  # a header with a 16-bit length; a shorter frame is no change
            return 4 - len(buffer)
        length, offset = buffer[1] & 0x7F, 2
        if length == 126:
            (length,), offset = struct.unpack_from("!H", buffer, 2), 4
        elif length == 127:
            if len(buffer) < 10:
                return 10 - len(buffer)
            (length,), offset = struct.unpack_from("!Q", buffer, 2), 10
        return max(1, offset + length - len(buffer))

    def _handshake(self, request: bytes) -> bytearray:
        self.sock.sendall(request)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            reply += chunk
        head, _, rest = reply.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
        if b"permessage-deflate" in head.lower():
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytearray(rest)

    def _frame(self) -> tuple[int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        length, offset = buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            (length,), offset = struct.unpack_from("!H", buffer, 2), 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            (length,), offset = struct.unpack_from("!Q", buffer, 2), 10
        if len(buffer) < offset + length:
            return None
        # The panel sends each message as one unfragmented frame, unmasked (server to client).
        compressed, opcode = buffer[0] & 0x40, buffer[0] & 0x0F
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        if compressed and self._inflate is not None:
            payload = self._inflate.decompress(payload + DEFLATE_TAIL)
        return opcode, payload

    def _take(self, message: dict, received: float, window: tuple[float, float]) -> None:
        if message.get("type") == "change" and window[0] <= received <= window[1]:
            self.latencies.append(received - float(message["time"]))
            self.seqs.append(int(message["values"]["BENCH_SEQ"]))

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)  # a client masks every frame it sends
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126  # pings and pongs carry at most 125 bytes
        self.sock.send(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def upgrade_request(netloc: str, scheme: str, topic: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET /ws?topics={topic} HTTP/1.1",
        f"Host: {netloc}",
        f"Origin: {scheme}://{netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def missing(seqs: list[int]) -> int:
    """Samples a client never got between its first and its last in the window."""
    return max(seqs) - min(seqs) + 1 - len(set(seqs)) if seqs else 0


def serve(selector: selectors.DefaultSelector, until: float | None) -> bytes:
    """Read the sockets until ``until`` or until stdin has a line (returned; b"" at its end)."""
    while until is None or time.time() < until:
        timeout = None if until is None else max(0.0, until - time.time())
        for key, _ in selector.select(timeout):
            if key.data is None:
                return sys.stdin.buffer.readline()
            follower, window = key.data
            follower.read(window)
            if follower.closed:
                selector.unregister(follower.sock)
    return b""


def main(url: str, count: int, topic: str) -> None:
    # Browsers run on other machines: here the clients yield the cores to the panel
    # rather than preempt it at every frame they are woken for. What they read late
    # is still timed when the kernel received it.
    os.nice(19)
    followers = [Follower(url, topic) for _ in range(count)]
    print(f"READY {len(followers)}", flush=True)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    for follower in followers:
        selector.register(follower.sock, selectors.EVENT_READ, (follower, None))
    start, end = (float(part) for part in serve(selector, None).split())
    for follower in followers:
        if not follower.closed:
            selector.modify(follower.sock, selectors.EVENT_READ, (follower, (start, end)))
    serve(selector, end + 0.2)
    result = {
        "latencies_ms": [round(s * 1000, 3) for f in followers for s in f.latencies],
        "missing": sum(missing(f.seqs) for f in followers),
        "silent": sum(1 for f in followers if not f.seqs),
        "closed": sum(1 for f in followers if f.closed),
    }
    print("RESULT " + json.dumps(result), flush=True)
    while serve(selector, None):  # answer pings until the parent closes stdin
        pass
    for follower in followers:
        follower.sock.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
