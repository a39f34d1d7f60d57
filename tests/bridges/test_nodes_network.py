"""The node network model, the line intake, the live stream and the log rate limit."""

from __future__ import annotations

import logging

import pytest

from controlroom.bridges.nodes import NodeNetwork, NodeRecord, default_parsers
from controlroom.bridges.nodes.grammar import Hello
from controlroom.bridges.nodes.intake import Intake
from controlroom.bridges.nodes.stream import LineStream, RateLimit


def make_intake(per_period: int = 10) -> tuple[Intake, list[NodeRecord]]:
    records: list[NodeRecord] = []
    intake = Intake(NodeNetwork(), default_parsers(), LineStream(per_period), log_lines_per_s=2.0)
    intake.sinks.append(records.append)
    return intake, records


def test_a_node_joins_leaves_and_comes_back_with_its_counters() -> None:
    network = NodeNetwork()
    state = network.join(Hello("n1", "fedm", {"fw": 2}), "10.0.0.5:4000", now=100.0)
    state.lines["DATA"] += 7
    assert network.connected_ids() == ["n1"]
    network.leave(state, now=110.0)
    assert network.connected_ids() == [] and network.ids() == ["n1"]
    again = network.join(Hello("n1", "fedm"), "10.0.0.5:4001", now=120.0)
    assert again is state
    detail = network.detail("N1", now=121.0)
    assert detail is not None
    assert detail["connected"] and detail["connects"] == 2 and detail["address"] == "10.0.0.5:4001"
    assert detail["lines_by_kind"]["DATA"] == 7 and detail["lines_by_kind"]["HELLO"] == 2
    assert detail["disconnected_at"] is None and detail["connected_since"] == 120.0
    assert network.detail("nobody") is None


def test_silent_nodes_are_reported_once_until_they_speak() -> None:
    network = NodeNetwork()
    state = network.join(Hello("n1", "fedm"), "a", now=100.0)
    assert network.newly_silent(104.0, timeout_s=5.0) == []
    assert network.newly_silent(106.0, timeout_s=5.0) == ["n1"]
    assert network.newly_silent(107.0, timeout_s=5.0) == []
    assert network.summaries(now=107.0)[0]["silent"] is True
    state.last_seen, state.silent = 108.0, False
    assert network.newly_silent(114.0, timeout_s=5.0) == ["n1"]


def test_lines_become_counts_status_and_rows_with_provenance() -> None:
    intake, records = make_intake()
    state = intake.network.join(Hello("n1", "fedm"), "a", now=1.0)
    for text in ("HB 17.5", "STATUS hv=1250", "DATA PULSE 123 2 12", "LOG INFO hi", ""):
        intake.take(state, text, 2.0)
    assert [r.kind for r in records] == ["STATUS", "PULSE"]
    assert records[1] == NodeRecord(
        "PULSE", 2.0, {"node": "n1", "node_type": "fedm", "t_ns": 123, "channel": 2, "width_ns": 12}
    )
    assert records[0].values == {"node": "n1", "node_type": "fedm", "hv": 1250}
    detail = intake.network.detail("n1")
    assert detail is not None
    assert detail["lines_by_kind"] == {"HELLO": 1, "HB": 1, "STATUS": 1, "LOG": 1, "DATA": 1}
    assert detail["heartbeat_clock"] == 17.5 and detail["last_heartbeat"] == 2.0
    assert detail["last_status"] == {"hv": 1250} and detail["stored"] == 2


def test_unknown_types_and_kinds_are_counted_raw_not_stored() -> None:
    intake, records = make_intake()
    odd = intake.network.join(Hello("w1", "weather"), "a", now=1.0)
    fedm = intake.network.join(Hello("n1", "fedm"), "b", now=1.0)
    intake.take(odd, "DATA WIND 5 12", 2.0)
    intake.take(fedm, "DATA SHOWER 5 3", 2.0)
    assert records == []
    counters = intake.network.counters()
    assert counters["w1"]["raw"] == 1 and counters["n1"]["raw"] == 1
    assert counters["w1"]["data"] == 1 and counters["w1"]["malformed"] == 0


def test_malformed_lines_are_counted_kept_and_logged_at_a_bounded_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake, records = make_intake()
    state = intake.network.join(Hello("n1", "fedm"), "a", now=1.0)
    with caplog.at_level(logging.WARNING, logger="controlroom.bridges.nodes.intake"):
        for _ in range(10):
            intake.take(state, "DATA PULSE 5 99 12", 2.0)
        intake.take(state, "GARBAGE", 2.0)
        intake.take(state, "HELLO other fedm", 2.0)
        intake.take(state, "DATA PULSE 5 1 12", 5.0)  # a good line after the flood
    detail = intake.network.detail("n1")
    assert detail is not None
    assert detail["malformed"] == 12 and detail["lines_by_kind"]["DATA"] == 1
    assert "already introduced as 'n1'" in detail["last_malformed"]
    assert len(records) == 1
    warnings = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 2  # two a second: the rest are held back


def test_node_log_lines_are_logged_under_the_node_logger(caplog: pytest.LogCaptureFixture) -> None:
    intake, _ = make_intake()
    state = intake.network.join(Hello("n1", "fedm"), "a", now=1.0)
    with caplog.at_level(logging.INFO, logger="controlroom.bridges.nodes.node"):
        intake.take(state, "LOG ERROR HV trip on channel 2", 2.0)
    record = next(r for r in caplog.records if r.name == "controlroom.bridges.nodes.node")
    assert record.levelno == logging.ERROR and "n1: HV trip on channel 2" in record.getMessage()


def test_a_failing_sink_is_counted_and_the_others_still_get_rows() -> None:
    intake, records = make_intake()

    def broken(record: NodeRecord) -> None:
        raise RuntimeError("disk full")

    intake.sinks.insert(0, broken)
    state = intake.network.join(Hello("n1", "fedm"), "a", now=1.0)
    intake.take(state, "DATA PULSE 5 1 12", 2.0)
    assert intake.sink_failures == 1 and len(records) == 1


def test_the_stream_keeps_a_bounded_number_of_lines_per_node() -> None:
    stream = LineStream(per_period=3)
    for k in range(5):
        stream.add("n1", float(k), "<", f"line {k}")
    stream.add("n2", 9.0, ">", "PING")
    drained = stream.drain()
    assert drained["n1"]["lines"] == [
        [0.0, "<", "line 0"],
        [1.0, "<", "line 1"],
        [2.0, "<", "line 2"],
    ]
    assert drained["n1"]["skipped"] == 2 and drained["n2"]["skipped"] == 0
    assert stream.drain() == {} and stream.skipped == 2


def test_the_rate_limit_refills_over_time_and_counts_what_it_held() -> None:
    limit = RateLimit(per_s=2.0)
    assert [limit.allow("a", 0.0) for _ in range(4)] == [0, 0, None, None]
    assert limit.allow("b", 0.0) == 0  # per key
    assert limit.allow("a", 1.0) == 2  # refilled; two were held back meanwhile
    assert limit.held_back == 2
