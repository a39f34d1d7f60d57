"""The model of the sensor-node network: every node seen, connected or not.

After COSMICi's ``SensorNet``/``SensorNode``: one :class:`NodeState`
per node id, kept across reconnections so its counters run on; the bridge's
asyncio thread updates it, commands and housekeeping read copies under the
network's lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from controlroom.bridges.nodes.grammar import KINDS, Hello, Scalar


@dataclass
class NodeState:
    """What the bridge knows of one node."""

    node_id: str
    node_type: str
    address: str
    connected_since: float
    connected: bool = True
    disconnected_at: float | None = None
    connects: int = 1
    details: dict[str, Scalar] = field(default_factory=dict)
    last_seen: float = 0.0  # UTC seconds of the last line received
    last_heartbeat: float | None = None  # when the last HB arrived
    heartbeat_clock: float | None = None  # the node's own time in it
    silent: bool = False  # no line for longer than the heartbeat timeout (event sent)
    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    data: dict[str, int] = field(default_factory=dict)  # DATA lines per kind
    raw: int = 0  # DATA lines no parser stores
    malformed: int = 0
    last_malformed: str = ""
    stored: int = 0  # rows handed on for storage
    sent: int = 0  # lines an operator sent to the node
    last_status: dict[str, Scalar] = field(default_factory=dict)

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values()) + self.malformed

    def summary(self, now: float) -> dict[str, Any]:
        """The row of ``nodes()``: identity, liveness and totals."""
        age = None if self.last_heartbeat is None else round(now - self.last_heartbeat, 3)
        return {
            "node": self.node_id,
            "type": self.node_type,
            "address": self.address,
            "connected": self.connected,
            "connected_since": self.connected_since,
            "silent": self.silent,
            "heartbeat_age_s": age,
            "lines": self.total_lines,
            "data": sum(self.data.values()),
            "malformed": self.malformed,
            "stored": self.stored,
        }

    def detail(self, now: float) -> dict[str, Any]:
        """Everything: the summary, counts per line kind and DATA kind, the last status."""
        return {
            **self.summary(now),
            "disconnected_at": self.disconnected_at,
            "connects": self.connects,
            "details": dict(self.details),
            "last_seen": self.last_seen,
            "last_heartbeat": self.last_heartbeat,
            "heartbeat_clock": self.heartbeat_clock,
            "lines_by_kind": dict(self.lines),
            "data_by_kind": dict(self.data),
            "raw": self.raw,
            "last_malformed": self.last_malformed,
            "sent": self.sent,
            "last_status": dict(self.last_status),
        }


class NodeNetwork:
    """All nodes by id; mutate under :attr:`lock`, read through the copying methods."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._nodes: dict[str, NodeState] = {}
        self.unidentified = 0  # lines from connections that had not said HELLO yet

    def join(self, hello: Hello, address: str, now: float | None = None) -> NodeState:
        """A node introduced itself: a new entry, or the old one reconnected."""
        now = time.time() if now is None else now
        with self.lock:
            state = self._nodes.get(hello.node_id)
            if state is None:
                state = NodeState(hello.node_id, hello.node_type, address, now)
                self._nodes[hello.node_id] = state
            else:
                state.connects += 1
                state.node_type, state.address = hello.node_type, address
                state.connected, state.connected_since = True, now
                state.disconnected_at = None
            state.details = dict(hello.details)
            state.last_seen, state.silent = now, False
            state.lines["HELLO"] += 1
            return state

    def leave(self, state: NodeState, now: float | None = None) -> None:
        with self.lock:
            state.connected = False
            state.disconnected_at = time.time() if now is None else now

    def ids(self) -> list[str]:
        with self.lock:
            return sorted(self._nodes)

    def connected_ids(self) -> list[str]:
        with self.lock:
            return sorted(n for n, s in self._nodes.items() if s.connected)

    def summaries(self, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        with self.lock:
            return [self._nodes[n].summary(now) for n in sorted(self._nodes)]

    def detail(self, node_id: str, now: float | None = None) -> dict[str, Any] | None:
        now = time.time() if now is None else now
        with self.lock:
            state = self._nodes.get(node_id.lower())
            return None if state is None else state.detail(now)

    def count_sent(self, node_id: str) -> None:
        """An operator's line went to ``node_id``."""
        with self.lock:
            state = self._nodes.get(node_id)
            if state is not None:
                state.sent += 1

    def newly_silent(self, now: float, timeout_s: float) -> list[str]:
        """Connected nodes quiet for ``timeout_s``, each reported once until it speaks."""
        found = []
        with self.lock:
            for state in self._nodes.values():
                if state.connected and not state.silent and now - state.last_seen > timeout_s:
                    state.silent = True
                    found.append(state.node_id)
        return found

    def counters(self) -> dict[str, dict[str, Any]]:
        """Per node: connected, total lines, DATA lines, malformed, stored, sent."""
        with self.lock:
            return {
                n: {
                    "connected": int(s.connected),
                    "lines": s.total_lines,
                    "data": sum(s.data.values()),
                    "raw": s.raw,
                    "malformed": s.malformed,
                    "stored": s.stored,
                    "sent": s.sent,
                }
                for n, s in sorted(self._nodes.items())
            }
