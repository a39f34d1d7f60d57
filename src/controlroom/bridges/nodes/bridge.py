"""The node bridge as a device interface: its commands, its housekeeping, its outputs.

:class:`NodeBridge` is served by a :class:`~controlroom.rpc.ControlServer` like
any device (``DeviceService(bridge)``), so proxies, the CLI and the web panel
reach it the usual way. What goes out:

* ``housekeeping()``: per-node counters (``<node>.lines``, ``<node>.data``,
  ``<node>.malformed``, ``<node>.lines_per_s``...) and totals, one sample per
  HK period: the aggregate view, stored under the server's origin;
* rows for storage, one per stored line (:class:`~.intake.NodeRecord`), handed
  to the sinks added with :meth:`add_sink` (the CLI adds a storage sender);
* each node's live stream, at most ``stream_lines`` lines per node and period,
  published as ``node/<node-id>`` (the publisher adds ``/<server>``), body
  ``{node, lines: [[time, "<" or ">", text], ...], skipped}``;
* events ``node_connected``, ``node_disconnected`` and ``node_silent``;
  ``storage_stalled`` and ``storage_recovered`` (:mod:`.backlog`): a backlog
  above ``high_water_rows`` that did not drain for ``stall_timeout_s`` while
  storage was reachable no longer stops the bridge from reading nodes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controlroom.bridges.nodes.backlog import BacklogSample, BacklogWatch, Change
from controlroom.bridges.nodes.errors import NodeBridgeError
from controlroom.bridges.nodes.intake import Intake, RecordSink
from controlroom.bridges.nodes.network import NodeNetwork, NodeState
from controlroom.bridges.nodes.parsers import ParserRegistry, default_parsers
from controlroom.bridges.nodes.server import NodeServer
from controlroom.bridges.nodes.stream import SENT, LineStream
from controlroom.device import Interface, command

if TYPE_CHECKING:
    from controlroom.rpc import ControlServer

log = logging.getLogger(__name__)

STREAM_TOPIC = "node"  # node/<node-id>, then /<server> from the publisher


@dataclass(frozen=True)
class NodeBridgeOptions:
    """How the bridge serves nodes (the ``bridges.nodes`` Settings, less the endpoints)."""

    host: str = "127.0.0.1"
    port: int = 0
    max_line_bytes: int = 1024
    heartbeat_timeout_s: float = 5.0
    stream_lines: int = 50
    stream_period_s: float = 0.2
    log_lines_per_s: float = 5.0
    high_water_rows: int = 100_000
    stall_timeout_s: float = 30.0


class NodeBridge(Interface):
    """A server for a fleet of sensor nodes speaking lines of text over TCP."""

    hk_min_period_s = 0.05
    status_min_period_s = 0.05

    def __init__(
        self, options: NodeBridgeOptions | None = None, parsers: ParserRegistry | None = None
    ) -> None:
        self.options = options = options or NodeBridgeOptions()
        self.network = NodeNetwork()
        self.stream = LineStream(options.stream_lines)
        self.intake = Intake(
            self.network,
            parsers or default_parsers(),
            self.stream,
            log_lines_per_s=options.log_lines_per_s,
        )
        self.server = NodeServer(
            self.intake,
            host=options.host,
            port=options.port,
            max_line_bytes=options.max_line_bytes,
            pressure=self._pressure,
            on_change=self._changed,
            tick=self._tick,
            tick_s=options.stream_period_s,
        )
        self._backlogs: list[Callable[[], int]] = []
        self._drained: list[Callable[[], int]] = []
        self._reachable: list[Callable[[], bool]] = []
        self.watch = BacklogWatch(options.stall_timeout_s)
        self._publish: Callable[[str, dict[str, Any]], None] = lambda topic, values: None
        self._notify: Callable[[str, dict[str, Any]], None] = lambda event, values: None
        self._last_hk: tuple[float, dict[str, int]] = (time.monotonic(), {})

    # -- wiring ---------------------------------------------------------------------------

    def add_sink(
        self,
        sink: RecordSink,
        backlog: Callable[[], int] | None = None,
        *,
        drained: Callable[[], int] | None = None,
        reachable: Callable[[], bool] | None = None,
    ) -> None:
        """Hand every stored row to ``sink`` (it must not block); ``backlog`` tells its
        queue length: above ``high_water_rows`` in all, the bridge stops reading nodes.

        ``drained`` (rows the sink is done with, stored or refused) and
        ``reachable`` (False while it knows storage is away) tell a stalled
        sink from a slow one or one waiting for storage (:mod:`.backlog`).
        """
        self.intake.sinks.append(sink)
        if backlog is not None:
            self._backlogs.append(backlog)
        if drained is not None:
            self._drained.append(drained)
        if reachable is not None:
            self._reachable.append(reachable)

    def attach(self, server: ControlServer) -> None:
        """Publish streams and events through ``server`` (the one serving this bridge)."""
        self._publish = server.publisher.publish
        self._notify = server.notify

    @property
    def nodes_url(self) -> str:
        """Where nodes connect: ``tcp://host:port`` (the real port once serving)."""
        return f"tcp://{self.server.host}:{self.server.port}"

    def connect(self) -> None:
        self.server.start()

    def disconnect(self) -> None:
        self.server.stop()

    # -- commands -------------------------------------------------------------------------

    @command(access="read")
    def nodes(self) -> list[dict[str, Any]]:
        """Every node seen: id, type, address, connected, heartbeat age, line totals."""
        return self.network.summaries()

    @command(access="read")
    def node(self, name: str) -> dict[str, Any]:
        """One node in full: counts per line kind and DATA kind, last status, last bad line."""
        found = self.network.detail(name)
        if found is None:
            raise NodeBridgeError(
                f"no node {name!r} (known: {', '.join(self.network.ids()) or 'none'})"
            )
        return found

    @command()
    def send(self, node: str, text: str) -> dict[str, Any]:
        """Send one line of TEXT to NODE (a newline is added); returns the bytes sent."""
        self._check_outgoing(text)
        try:
            sent = self.server.send(node, text)
        except TimeoutError:
            raise NodeBridgeError(f"node {node!r}: the send did not complete in time") from None
        node_id = node.lower()
        self.stream.add(node_id, time.time(), SENT, text)
        self.network.count_sent(node_id)
        return {"node": node_id, "text": text, "bytes": sent}

    @command(access="read")
    def counters(self) -> dict[str, Any]:
        """Totals (lines, malformed, rows, backlog, paused time) and per-node counters."""
        return {**self._totals(), "nodes": self.network.counters()}

    @command(access="read")
    def parsers(self) -> dict[str, list[str]]:
        """Node types with a parser, and the DATA kinds each stores."""
        return self.intake.parsers.types()

    # -- telemetry ------------------------------------------------------------------------

    def housekeeping(self) -> dict[str, Any]:
        now = time.monotonic()
        last_time, last_lines = self._last_hk
        elapsed = max(now - last_time, 1e-9)
        per_node = self.network.counters()
        values: dict[str, Any] = self._totals()
        lines_now: dict[str, int] = {}
        for node, counts in per_node.items():
            lines_now[node] = counts["lines"]
            rate = (counts["lines"] - last_lines.get(node, counts["lines"])) / elapsed
            values.update({f"{node}.{key}": value for key, value in counts.items()})
            values[f"{node}.lines_per_s"] = round(rate, 1)
        values["lines_per_s"] = round(
            sum(lines_now[n] - last_lines.get(n, lines_now[n]) for n in lines_now) / elapsed, 1
        )
        self._last_hk = (now, lines_now)
        return values

    def status(self) -> dict[str, Any]:
        totals = self._totals()
        keys = (
            "nodes_connected",
            "nodes_known",
            "lines",
            "malformed",
            "records",
            "backlog_rows",
            "backlog_stalled",
        )
        return {key: totals[key] for key in keys}

    # -- internals ------------------------------------------------------------------------

    def _totals(self) -> dict[str, Any]:
        per_node = self.network.counters()
        return {
            "nodes_known": len(per_node),
            "nodes_connected": sum(c["connected"] for c in per_node.values()),
            "lines": sum(c["lines"] for c in per_node.values()),
            "malformed": sum(c["malformed"] for c in per_node.values()),
            "unidentified": self.network.unidentified,
            "records": self.intake.records,
            "sink_failures": self.intake.sink_failures,
            "backlog_rows": self._backlog(),
            "backlog_stalled": self.watch.stalled,
            "backlog_stalls": self.watch.stalls,
            "paused_s": round(self.server.paused_s, 3),
            "paused_connections": self.server.paused_now,
            "stream_skipped": self.stream.skipped,
        }

    def _backlog(self) -> int:
        return sum(backlog() for backlog in self._backlogs)

    def _over_high_water(self) -> bool:
        return bool(self._backlogs) and self._backlog() > self.options.high_water_rows

    def _pressure(self) -> bool:
        return not self.watch.bypass and self._over_high_water()

    def _check_outgoing(self, text: str) -> None:
        if not text.strip():
            raise NodeBridgeError("nothing to send: the text is empty")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise NodeBridgeError("the text to send has control characters (one line only)")
        if len(text.encode()) > self.options.max_line_bytes:
            raise NodeBridgeError(f"the text to send is over {self.options.max_line_bytes} bytes")

    def _changed(self, event: str, state: NodeState) -> None:
        self._notify(
            event, {"node": state.node_id, "type": state.node_type, "address": state.address}
        )

    def _tick(self) -> None:
        """On the node server's loop: watch the storage backlog, publish the streams,
        report silent nodes."""
        if self._backlogs:
            self._watch_backlog()  # first: a failing publish must not blind the watch
        for node, values in self.stream.drain().items():
            self._publish(f"{STREAM_TOPIC}/{node}", values)
        timeout = self.options.heartbeat_timeout_s
        for node in self.network.newly_silent(time.time(), timeout):
            self._notify("node_silent", {"node": node, "silent_s": timeout})

    def _watch_backlog(self) -> None:
        backlog = self._backlog()
        sample = BacklogSample(
            backlog=backlog,
            over=backlog > self.options.high_water_rows,
            drained=sum(d() for d in self._drained) if self._drained else None,
            reachable=all(r() for r in self._reachable),
            now=time.monotonic(),
        )
        change = self.watch.observe(sample)
        if change is not None:
            self._report_backlog(change, backlog, self.watch.stall_length_s)

    def _report_backlog(self, change: Change, backlog: int, stalled_s: float) -> None:
        values = {"backlog_rows": backlog, "stalled_s": round(stalled_s, 1)}
        if change == "stalled":
            log.error(
                "storage backlog of %d rows has not drained for %.1f s while storage is "
                "reachable: reading nodes again (the sink's queue bound drops and counts "
                "what does not fit)",
                backlog,
                stalled_s,
            )
        else:
            log.warning(
                "storage backlog drains again after %.1f s stalled (%d rows waiting)",
                stalled_s,
                backlog,
            )
        self._notify(f"storage_{change}", values)
