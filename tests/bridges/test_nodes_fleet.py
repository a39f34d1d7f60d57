"""The node-fleet simulator against the bridge: zero loss, bad lines counted, reconnection."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from controlroom.bridges.nodes import NodeBridge, NodeBridgeOptions, NodeRecord
from controlroom.bridges.nodes.fleet import parse_bridge
from controlroom.testing.waiting import wait_until

FLEET = [sys.executable, "-m", "controlroom.bridges.nodes.fleet"]


@contextmanager
def bridge_on(port: int = 0) -> Iterator[tuple[NodeBridge, list[NodeRecord]]]:
    bridge = NodeBridge(NodeBridgeOptions(port=port, heartbeat_timeout_s=30.0))
    records: list[NodeRecord] = []
    bridge.add_sink(records.append, backlog=lambda: 0)
    bridge.connect()
    try:
        yield bridge, records
    finally:
        bridge.disconnect()


@contextmanager
def fleet(port: int, *args: str) -> Iterator[subprocess.Popen[str]]:
    argv = [*FLEET, "--bridge", f"tcp://127.0.0.1:{port}", "--seed", "7", *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("READY "), proc.stderr.read() if proc.stderr else ready
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=10)


def summary_of(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=30)
    line = next(line for line in out.splitlines() if line.startswith("SUMMARY "))
    return json.loads(line[len("SUMMARY ") :])  # type: ignore[no-any-return]


def test_a_short_run_is_stored_without_loss() -> None:
    with bridge_on() as (bridge, records):
        with fleet(
            bridge.server.port, "--nodes", "5", "--rate", "300", "--ctu", "1", "--seconds", "1"
        ) as proc:
            summary = summary_of(proc)
        sent = summary["sent"]
        assert wait_until(lambda: bridge.counters()["lines"] == summary["lines"])
        assert len(records) == sent["DATA"] + sent["STATUS"]
        assert {r.kind for r in records} == {"PULSE", "TICK", "STATUS"}
        counters = bridge.counters()
        assert counters["malformed"] == 0 and counters["nodes_known"] == 6
        assert summary["connects"] == 6 and sent["HELLO"] == 6 and sent["HB"] >= 6


def test_bad_lines_are_counted_and_the_good_ones_all_stored() -> None:
    with bridge_on() as (bridge, records):
        args = ("--nodes", "3", "--rate", "300", "--malformed", "0.05", "--seconds", "1")
        with fleet(bridge.server.port, *args) as proc:
            summary = summary_of(proc)
        sent = summary["sent"]
        assert sent["MALFORMED"] > 0
        assert wait_until(lambda: bridge.counters()["lines"] == summary["lines"])
        assert bridge.counters()["malformed"] == sent["MALFORMED"]
        assert len(records) == sent["DATA"] + sent["STATUS"]


def test_nodes_obey_what_an_operator_sends() -> None:
    with bridge_on() as (bridge, _):
        with fleet(bridge.server.port, "--nodes", "1", "--rate", "10") as proc:
            assert wait_until(lambda: bridge.network.connected_ids() == ["fedm-01"])
            bridge.send("fedm-01", "PING")
            bridge.send("fedm-01", "HV 1300")
            assert wait_until(lambda: bridge.node("fedm-01")["lines_by_kind"]["LOG"] == 2)
            bridge.send("fedm-01", "STATUS?")
            assert wait_until(lambda: bridge.node("fedm-01")["last_status"].get("hv") == 1300)
            proc.send_signal(signal.SIGTERM)
            summary = summary_of(proc)
    assert summary["sent"]["LOG"] == 2


def test_the_fleet_reconnects_when_the_bridge_restarts() -> None:
    with bridge_on() as (bridge, _):
        port = bridge.server.port
        with fleet(port, "--nodes", "3", "--rate", "50") as proc:
            bridge.disconnect()
            with bridge_on(port) as (again, records):
                # A bound, not a target: the fleet backs off between tries on a busy machine.
                assert wait_until(lambda: len(again.network.connected_ids()) == 3, timeout_s=30)
                assert wait_until(lambda: records)
                proc.send_signal(signal.SIGTERM)
                summary = summary_of(proc)
    assert summary["connects"] == 6 and summary["sent"]["HELLO"] == 6


@pytest.mark.parametrize("url", ["http://h:1", "tcp://h", "h"])
def test_a_bad_bridge_address_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="expected tcp://host:port"):
        parse_bridge(url)
    argv = [*FLEET, "--bridge", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "expected tcp://host:port" in done.stderr
