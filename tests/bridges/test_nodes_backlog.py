"""A storage backlog that stops draining: detected, reported, and the nodes read again."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

from controlroom.bridges.nodes import NodeBridge, NodeBridgeOptions, NodeRecord
from controlroom.bridges.nodes.backlog import BacklogSample, BacklogWatch
from controlroom.testing.waiting import wait_until

if TYPE_CHECKING:
    from controlroom.rpc import ControlServer

HIGH_WATER = 10
STALL_S = 0.3


# -- the watch on its own ------------------------------------------------------------------


def sample(
    now: float, backlog: int, drained: int | None = 0, *, reachable: bool = True
) -> BacklogSample:
    return BacklogSample(backlog, backlog > HIGH_WATER, drained, reachable, now)


def state(watch: BacklogWatch) -> tuple[bool, bool, int]:
    return watch.stalled, watch.bypass, watch.stalls


def test_a_paused_backlog_without_progress_is_stalled_until_it_drains() -> None:
    watch = BacklogWatch(stall_s=10.0)
    assert watch.observe(sample(0.0, 50)) is None
    assert watch.observe(sample(9.0, 50)) is None
    assert state(watch) == (False, False, 0)
    assert watch.observe(sample(10.5, 50)) == "stalled"
    assert state(watch) == (True, True, 1)
    assert watch.stall_length_s == pytest.approx(10.5)
    assert watch.observe(sample(11.0, 80)) is None  # read again: the backlog grows
    assert watch.observe(sample(12.0, 80, drained=5)) == "recovered"
    assert state(watch) == (False, False, 1)
    assert watch.stall_length_s == pytest.approx(12.0)


def test_a_slow_sink_or_storage_away_is_no_stall() -> None:
    watch = BacklogWatch(stall_s=10.0)
    for second in range(0, 60, 5):  # rows drained at every sample
        assert watch.observe(sample(second, 50, drained=second)) is None
    for second in range(60, 120, 5):  # nothing drained, but storage is away: rows wait
        assert watch.observe(sample(second, 50, drained=60, reachable=False)) is None
    assert watch.stalls == 0


def test_without_a_drained_count_a_shrinking_backlog_is_progress() -> None:
    watch = BacklogWatch(stall_s=10.0)
    for second, backlog in enumerate(range(100, 40, -5)):
        assert watch.observe(sample(second * 5.0, backlog, drained=None)) is None
    assert watch.observe(sample(70.0, 45, drained=None)) == "stalled"
    assert watch.observe(sample(71.0, 44, drained=None)) == "recovered"


# -- in the bridge -------------------------------------------------------------------------


@dataclass
class WedgedSink:
    """A storage sender whose thread stopped: rows pile up, none is ever drained."""

    rows: list[NodeRecord] = field(default_factory=list)
    backlog: int = 0
    drained: int = 0
    reachable: bool = True


@dataclass
class Events:
    """What the bridge notifies, as the control server serving it would publish it."""

    seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def notify(self, event: str, values: dict[str, Any]) -> None:
        self.seen.append((event, values))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [values for name, values in list(self.seen) if name == event]


class FakeServer:
    def __init__(self, events: Events) -> None:
        self.notify = events.notify
        self.publisher = self

    def publish(self, topic: str, values: dict[str, Any]) -> None:
        pass


@pytest.fixture
def sink() -> WedgedSink:
    return WedgedSink()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def bridge(sink: WedgedSink, events: Events) -> Iterator[NodeBridge]:
    options = NodeBridgeOptions(
        high_water_rows=HIGH_WATER, stall_timeout_s=STALL_S, stream_period_s=0.02
    )
    served = NodeBridge(options)
    served.add_sink(
        sink.rows.append,
        backlog=lambda: sink.backlog,
        drained=lambda: sink.drained,
        reachable=lambda: sink.reachable,
    )
    served.attach(cast("ControlServer", FakeServer(events)))
    served.connect()
    try:
        yield served
    finally:
        served.disconnect()


@pytest.fixture
def node(bridge: NodeBridge) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", bridge.server.port), timeout=5.0)
    sock.sendall(b"HELLO n1 fedm\n")
    assert sock.recv(64) == b"OK HELLO n1\n"
    try:
        yield sock
    finally:
        sock.close()


def test_a_wedged_sink_is_reported_and_the_nodes_are_read_again(
    bridge: NodeBridge, sink: WedgedSink, events: Events, node: socket.socket
) -> None:
    sink.backlog = HIGH_WATER + 1  # and the sender's thread has stopped
    node.sendall(b"DATA PULSE 1 1 12\n")
    assert wait_until(lambda: bridge.counters()["paused_connections"] == 1)
    assert wait_until(lambda: events.named("storage_stalled"), timeout_s=10.0)
    (stalled,) = events.named("storage_stalled")
    assert stalled["backlog_rows"] == HIGH_WATER + 1 and stalled["stalled_s"] >= STALL_S
    status = bridge.status()
    assert status["backlog_stalled"] and bridge.counters()["backlog_stalls"] == 1
    # Reading again although the backlog is still over the bound.
    node.sendall(b"DATA PULSE 2 1 12\nDATA PULSE 3 1 12\n")
    assert wait_until(lambda: [r.values["t_ns"] for r in sink.rows] == [1, 2, 3])
    assert bridge.counters()["paused_connections"] == 0

    sink.drained, sink.backlog = HIGH_WATER, 0  # the sender's thread runs again
    assert wait_until(lambda: events.named("storage_recovered"))
    assert not bridge.status()["backlog_stalled"]
    sink.backlog = HIGH_WATER + 1  # the bound holds again once the sink drains
    node.sendall(b"DATA PULSE 4 1 12\n")
    assert wait_until(lambda: bridge.counters()["paused_connections"] == 1)


def test_while_storage_is_away_reading_stays_paused(
    bridge: NodeBridge, sink: WedgedSink, events: Events, node: socket.socket
) -> None:
    sink.reachable = False  # the sender waits for the manager: its rows are kept
    sink.backlog = HIGH_WATER + 1
    node.sendall(b"DATA PULSE 1 1 12\n")
    assert wait_until(lambda: bridge.counters()["paused_connections"] == 1)
    node.sendall(b"DATA PULSE 2 1 12\n")
    assert not wait_until(lambda: len(sink.rows) > 1, timeout_s=4 * STALL_S)
    assert not events.named("storage_stalled") and not bridge.status()["backlog_stalled"]
    sink.reachable = True  # the manager is back, yet takes nothing: a stall
    assert wait_until(lambda: len(sink.rows) == 2, timeout_s=10.0)
    assert len(events.named("storage_stalled")) == 1
