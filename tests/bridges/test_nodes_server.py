"""The node bridge over real TCP, served by a real control server: fake nodes, an operator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from controlroom import wire
from controlroom.bridges.nodes import NodeBridge, NodeRecord, build_bridge_server
from controlroom.device.proxy import make_proxy
from controlroom.rpc import ControlServer, RemoteError
from controlroom.testing.waiting import wait_until

SETTINGS = {
    "bridges": {
        "nodes": {
            "port": 0,
            "max_line_bytes": 64,
            "stream_period_s": 0.05,
            "heartbeat_timeout_s": 0.5,
            "high_water_rows": 10,
        }
    }
}


class FakeNode:
    """A node made of a plain socket: send lines, read what the bridge sends back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self.reader = self.sock.makefile("rb")

    def say(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\n" for line in lines).encode())

    def hear(self) -> str:
        return self.reader.readline().decode().rstrip("\n")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Bridge:
    def __init__(self, server: ControlServer, bridge: NodeBridge) -> None:
        self.server, self.bridge = server, bridge
        self.records: list[NodeRecord] = []
        self.backlog = 0
        self.nodes: list[FakeNode] = []

    def node(self, hello: str | None = None) -> FakeNode:
        node = FakeNode(self.bridge.server.port)
        self.nodes.append(node)
        if hello is not None:
            node.say(hello)
            assert node.hear().startswith("OK HELLO")
        return node


@pytest.fixture
def served() -> Iterator[Bridge]:
    server, bridge = build_bridge_server(SETTINGS)
    harness = Bridge(server, bridge)
    bridge.add_sink(harness.records.append, backlog=lambda: harness.backlog)
    server.start()
    try:
        yield harness
    finally:
        for node in harness.nodes:
            node.close()
        server.stop()


@pytest.fixture
def proxy(served: Bridge) -> Iterator[Any]:
    with make_proxy(NodeBridge, served.server.endpoint, timeout=5.0) as client:
        yield client


def test_nodes_introduce_themselves_and_their_data_is_stored(served: Bridge, proxy: Any) -> None:
    one = served.node("HELLO fedm-01 fedm fw=2")
    two = served.node("HELLO ctu-01 ctu")
    one.say("HB 1.0", "STATUS hv=1250", "DATA PULSE 1000 1 12 40.5")
    two.say("DATA TICK 2000 7 -3")
    assert wait_until(lambda: len(served.records) == 3)
    kinds = sorted((r.kind, r.values["node"]) for r in served.records)
    assert kinds == [("PULSE", "fedm-01"), ("STATUS", "fedm-01"), ("TICK", "ctu-01")]
    listed = {n["node"]: n for n in proxy.nodes()}
    assert listed["fedm-01"]["connected"] and listed["fedm-01"]["type"] == "fedm"
    assert listed["fedm-01"]["lines"] == 4 and listed["ctu-01"]["data"] == 1
    detail = proxy.node("FEDM-01")
    assert detail["last_status"] == {"hv": 1250} and detail["details"] == {"fw": 2}
    assert proxy.parsers() == {"ctu": ["TICK"], "fedm": ["PULSE"]}


def test_lines_before_hello_are_unidentified_and_answered_once(served: Bridge) -> None:
    node = served.node()
    node.say("DATA PULSE 1 1 12", "STATUS hv=1", "HELLO n1 fedm", "DATA PULSE 2 1 12")
    assert node.hear() == "ERR say HELLO <node-id> <node-type> first"
    assert node.hear() == "OK HELLO n1"
    assert wait_until(lambda: len(served.records) == 1)
    assert served.bridge.counters()["unidentified"] == 2


def test_an_operator_sends_a_line_to_a_node(served: Bridge, proxy: Any) -> None:
    node = served.node("HELLO n1 fedm")
    assert proxy.send("N1", "RATE 20") == {"node": "n1", "text": "RATE 20", "bytes": 8}
    assert node.hear() == "RATE 20"
    assert proxy.node("n1")["sent"] == 1


@pytest.mark.parametrize(
    ("node", "text", "message"),
    [
        ("nobody", "PING", "node 'nobody' is not connected \\(connected: n1\\)"),
        ("n1", "", "nothing to send"),
        ("n1", "PING\nRESET", "control characters"),
        ("n1", "x" * 65, "over 64 bytes"),
    ],
)
def test_a_bad_send_is_refused_clearly(
    served: Bridge, proxy: Any, node: str, text: str, message: str
) -> None:
    served.node("HELLO n1 fedm")
    with pytest.raises(RemoteError, match=message):
        proxy.send(node, text)
    assert proxy.ping() is not None  # still serving


def test_malformed_and_overlong_lines_are_counted_never_fatal(served: Bridge, proxy: Any) -> None:
    node = served.node("HELLO n1 fedm")
    node.say("GARBAGE", "DATA PULSE 1 99 12", "x" * 200, "DATA PULSE 3 1 12")
    assert wait_until(lambda: len(served.records) == 1)
    assert served.records[0].values["t_ns"] == 3
    detail = proxy.node("n1")
    assert detail["malformed"] == 3 and detail["connected"]
    assert "channel 99" not in detail["last_malformed"]  # the overlong line came last
    assert "longer than 64 bytes" in detail["last_malformed"]


def test_a_node_that_goes_away_and_comes_back_keeps_its_entry(served: Bridge, proxy: Any) -> None:
    first = served.node("HELLO n1 fedm")
    first.say("DATA PULSE 1 1 12")
    assert wait_until(lambda: len(served.records) == 1)
    first.close()
    assert wait_until(lambda: not proxy.node("n1")["connected"])
    again = served.node("HELLO n1 fedm")
    again.say("DATA PULSE 2 1 12")
    assert wait_until(lambda: len(served.records) == 2)
    detail = proxy.node("n1")
    assert detail["connected"] and detail["connects"] == 2 and detail["lines"] == 4


def test_a_second_connection_under_the_same_id_takes_over(served: Bridge, proxy: Any) -> None:
    old = served.node("HELLO n1 fedm")
    new = served.node("HELLO n1 fedm")
    assert old.reader.readline() == b""  # the bridge closed the older connection
    new.say("DATA PULSE 2 1 12")
    assert wait_until(lambda: len(served.records) == 1)
    assert proxy.node("n1")["connected"]


def test_reading_pauses_while_the_storage_backlog_is_high(served: Bridge) -> None:
    node = served.node("HELLO n1 fedm")
    served.backlog = 11  # above high_water_rows: reading stops after the current chunk
    node.say("DATA PULSE 1 1 12")
    assert wait_until(lambda: served.bridge.counters()["paused_connections"] == 1)
    before = len(served.records)  # 0 or 1: the line may have come with the last chunk
    node.say("DATA PULSE 2 1 12")
    assert not wait_until(lambda: len(served.records) > 1, timeout_s=0.3)  # left in TCP
    assert len(served.records) == before
    served.backlog = 0
    assert wait_until(lambda: len(served.records) == 2)
    counters = served.bridge.counters()
    assert counters["paused_connections"] == 0 and counters["paused_s"] > 0


def test_housekeeping_is_per_node_counters_and_totals(served: Bridge) -> None:
    node = served.node("HELLO n1 fedm")
    node.say("DATA PULSE 1 1 12", "BAD")
    assert wait_until(lambda: served.bridge.counters()["malformed"] == 1)
    hk = served.bridge.housekeeping()
    assert hk["n1.connected"] == 1 and hk["n1.lines"] == 3 and hk["n1.malformed"] == 1
    assert hk["nodes_connected"] == 1 and hk["lines"] == 3 and hk["records"] == 1
    assert "n1.lines_per_s" in hk and "lines_per_s" in hk
    assert served.bridge.status()["nodes_connected"] == 1


def test_streams_and_events_are_published(served: Bridge) -> None:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    for topic in (b"node/n1/", b"event/nodes"):
        sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(served.server.pub_endpoint)
    seen: dict[str, list[dict[str, Any]]] = {}

    def take() -> None:
        while sub.poll(10):
            frames = sub.recv_multipart()
            body = wire.unpack(frames[1:])
            seen.setdefault(frames[0].decode(), []).append(body["values"])

    try:
        # The subscription is live once a message of ours gets through.
        probe = served.node("HELLO n1 fedm")
        assert wait_until(lambda: (take(), probe.say("HB 1"), "node/n1/nodes" in seen)[-1])
        probe.close()
        assert wait_until(
            lambda: (
                take(),
                "event/nodes" in seen
                and any(e["event"] == "node_disconnected" for e in seen["event/nodes"]),
            )[-1]
        )
    finally:
        sub.close()
    lines = [line for message in seen["node/n1/nodes"] for line in message["lines"]]
    assert all(line[1] == "<" for line in lines) and any(line[2] == "HB 1" for line in lines)
    assert seen["node/n1/nodes"][0]["node"] == "n1"
