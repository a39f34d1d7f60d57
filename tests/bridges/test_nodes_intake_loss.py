"""Every line the bridge takes from a socket is stored or counted, however the node leaves.

A real bridge, raw-socket nodes and a storage sink of its own: a thread that
drains a queue in batches, as the storage sender does.
"""

from __future__ import annotations

import collections
import fcntl
import socket
import struct
import termios
import threading
from collections.abc import Iterator

import pytest

from controlroom import wire
from controlroom.bridges.nodes import NodeBridge, NodeBridgeOptions, NodeRecord
from controlroom.testing.waiting import wait_until

HIGH_WATER = 1_000


class DrainingSink:
    """Rows queue here; a thread stores them in batches while ``draining`` is set.

    Slower than the bridge reads (``batch`` rows every few milliseconds), so the
    backlog bound is reached and the bridge pauses.
    """

    def __init__(self, batch: int = 100) -> None:
        self.batch = batch
        self.queue: collections.deque[NodeRecord] = collections.deque()
        self.stored: list[NodeRecord] = []
        self.draining = threading.Event()
        self.draining.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __len__(self) -> int:
        return len(self.queue)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(0.005)  # the storage manager's round trip, roughly
            if not self.draining.wait(0.05):
                continue
            for _ in range(min(self.batch, len(self.queue))):
                self.stored.append(self.queue.popleft())

    def __enter__(self) -> DrainingSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)


@pytest.fixture
def sink() -> Iterator[DrainingSink]:
    with DrainingSink() as running:
        yield running


@pytest.fixture
def bridge(sink: DrainingSink) -> Iterator[NodeBridge]:
    served = NodeBridge(NodeBridgeOptions(high_water_rows=HIGH_WATER, heartbeat_timeout_s=60.0))
    served.add_sink(sink.queue.append, backlog=lambda: len(sink))
    served.connect()
    try:
        yield served
    finally:
        served.disconnect()


def introduced(bridge: NodeBridge, node: str = "n1", node_type: str = "fedm") -> socket.socket:
    """A node that said HELLO and read the answer (so closing it is a plain close)."""
    sock = socket.create_connection(("127.0.0.1", bridge.server.port), timeout=10.0)
    sock.sendall(f"HELLO {node} {node_type}\n".encode())
    answer = b""
    while not answer.endswith(b"\n"):
        answer += sock.recv(64)
    assert answer == f"OK HELLO {node}\n".encode()
    return sock


def pulses(count: int) -> bytes:
    return b"".join(b"DATA PULSE %d 1 12\n" % t for t in range(count))


def unsent(sock: socket.socket) -> int:
    """Bytes the node's kernel still holds (not yet acknowledged by the bridge's kernel)."""
    raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    return int(struct.unpack("i", raw)[0])


def settled(bridge: NodeBridge) -> bool:
    return int(bridge.counters()["nodes_connected"]) == 0


def test_a_node_closing_at_once_after_a_flood_has_every_line_stored(
    bridge: NodeBridge, sink: DrainingSink
) -> None:
    sent = 50_000
    node = introduced(bridge)
    # Far above the backlog bound: the bridge pauses and resumes many times, and the
    # close comes while it is paused; the last line has no newline.
    node.sendall(pulses(sent - 1) + b"DATA PULSE 99999 2 12")
    node.close()
    assert wait_until(lambda: settled(bridge) and not sink.queue, timeout_s=60.0)
    counters = bridge.counters()
    assert counters["paused_s"] > 0  # the backlog bound was reached
    stored, lost = len(sink.stored), counters["malformed"] + counters["sink_failures"]
    assert (stored, lost) == (sent, 0)
    assert sink.stored[-1].values["t_ns"] == 99999


def test_lines_received_before_a_reset_are_all_handled(
    bridge: NodeBridge, sink: DrainingSink
) -> None:
    sent = 8_000  # about 160 kB: held by the bridge's stream buffer and socket
    node = introduced(bridge)
    sink.draining.clear()
    node.sendall(pulses(HIGH_WATER + 1))  # the backlog goes over: reading pauses
    assert wait_until(lambda: bridge.counters()["paused_connections"] == 1)
    node.sendall(pulses(sent - HIGH_WATER - 1))
    assert wait_until(lambda: unsent(node) == 0, timeout_s=10.0)  # all at the bridge's host
    node.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    node.close()  # a reset, as when a node closes with an answer it did not read
    sink.draining.set()
    assert wait_until(lambda: settled(bridge) and not sink.queue, timeout_s=30.0)
    assert len(sink.stored) == sent
    assert bridge.counters()["malformed"] == 0


def test_a_line_the_bridge_fails_on_costs_only_itself(
    bridge: NodeBridge, sink: DrainingSink
) -> None:
    node = introduced(bridge)
    # A heartbeat time no float can hold, then a good line on the same connection.
    node.sendall(b"HB " + b"9" * 400 + b"\nDATA PULSE 5 1 12\n")
    assert wait_until(lambda: len(sink.stored) == 1)
    detail = bridge.node("n1")
    assert detail["connected"] and detail["malformed"] == 1
    node.close()


@pytest.mark.parametrize(
    "line",
    [
        "STATUS hv=" + "9" * 30,
        "STATUS low=-" + "9" * 30,
        "DATA TICK 1 " + "9" * 30 + " 0",
        "DATA TICK " + "9" * 30 + " 1 0",
    ],
)
def test_every_stored_row_can_be_sent_to_storage(
    bridge: NodeBridge, sink: DrainingSink, line: str
) -> None:
    node = introduced(bridge, "t1", "ctu" if line.startswith("DATA TICK") else "fedm")
    node.sendall(f"{line}\nSTATUS end=1\n".encode())
    assert wait_until(lambda: any(r.values.get("end") == 1 for r in sink.stored))
    for record in sink.stored:  # what the storage sender would send: it must encode
        wire.encode_call(1, "store", (record.kind, [{"values": record.values}]), None)
    node.close()
