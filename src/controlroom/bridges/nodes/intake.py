"""What the bridge does with each line of an identified node.

Every line is streamed and counted by kind. A heartbeat updates the node's
liveness; a STATUS line becomes its last status and a stored row; a LOG line
is logged under ``controlroom.bridges.nodes.node`` (a few per second per
node); a DATA line goes to the parser of the node's type and, when it knows
the kind, becomes a stored row. Rows are :class:`NodeRecord` handed to the
sinks, which must return at once (a bounded queue, never I/O). A line that
breaks the grammar is counted, kept as the node's ``last_malformed`` and
logged at a bounded rate; reading goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from controlroom.bridges.nodes.errors import LineError
from controlroom.bridges.nodes.grammar import (
    Data,
    Heartbeat,
    Hello,
    Line,
    LogLine,
    Scalar,
    Status,
    parse_line,
)
from controlroom.bridges.nodes.network import NodeNetwork, NodeState
from controlroom.bridges.nodes.parsers import ParserRegistry
from controlroom.bridges.nodes.stream import RECEIVED, LineStream, RateLimit

log = logging.getLogger(__name__)
node_log = logging.getLogger("controlroom.bridges.nodes.node")

STATUS_KIND = "STATUS"
SHOWN_CHARS = 120  # of a malformed line, in the log and in the model


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One row for storage, with its provenance.

    ``kind`` is the DATA kind (``PULSE``) or ``STATUS``: the row's origin is
    ``<prefix>_<kind>``. ``time`` is when the bridge received the line (UTC
    seconds); ``values`` start with ``node``, ``node_type`` and, for DATA,
    the node's own timestamp ``t_ns``.
    """

    kind: str
    time: float
    values: dict[str, Scalar]


RecordSink = Callable[[NodeRecord], None]


class Intake:
    """Turns lines into model updates, stream entries, log records and stored rows."""

    def __init__(
        self,
        network: NodeNetwork,
        parsers: ParserRegistry,
        stream: LineStream,
        *,
        log_lines_per_s: float = 5.0,
    ) -> None:
        self.network = network
        self.parsers = parsers
        self.stream = stream
        self.sinks: list[RecordSink] = []
        self.records = 0
        self.sink_failures = 0
        self._malformed_log = RateLimit(log_lines_per_s)
        self._node_log = RateLimit(log_lines_per_s)

    def take(self, state: NodeState, text: str, now: float) -> None:
        """One line (without its newline) from ``state``'s node, received at ``now``."""
        self.stream.add(state.node_id, now, RECEIVED, text)
        try:
            line = parse_line(text)
        except LineError as exc:
            self.malformed(state, text, str(exc), now)
            return
        if line is not None:
            self._route(state, line, now)

    def malformed(self, state: NodeState | None, text: str, reason: str, now: float) -> None:
        """Count a bad line (for its node, or as unidentified) and log it at a bounded rate."""
        shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."
        with self.network.lock:
            if state is None:
                self.network.unidentified += 1
            else:
                state.malformed += 1
                state.last_malformed = f"{reason}: {shown}"
                state.last_seen, state.silent = now, False
        key = state.node_id if state is not None else "?"
        held = self._malformed_log.allow(key, now)
        if held is not None:
            more = f" ({held} more held back)" if held else ""
            log.warning("node %s: malformed line (%s): %r%s", key, reason, shown, more)

    def _route(self, state: NodeState, line: Line, now: float) -> None:
        if isinstance(line, Data):
            self._data(state, line, now)
            return
        record: NodeRecord | None = None
        with self.network.lock:
            state.last_seen, state.silent = now, False
            if isinstance(line, Heartbeat):
                state.lines["HB"] += 1
                state.last_heartbeat, state.heartbeat_clock = now, line.source_time
            elif isinstance(line, Status):
                state.lines["STATUS"] += 1
                state.last_status.update(line.values)
                values = {"node": state.node_id, "node_type": state.node_type, **line.values}
                record = NodeRecord(STATUS_KIND, now, values)
                state.stored += 1
            elif isinstance(line, LogLine):
                state.lines["LOG"] += 1
            else:
                state.lines["HELLO"] += 1
        if isinstance(line, LogLine):
            self._log(state, line, now)
        elif isinstance(line, Hello) and line.node_id != state.node_id:
            reason = f"already introduced as {state.node_id!r}"
            self.malformed(state, f"HELLO {line.node_id} {line.node_type}", reason, now)
        if record is not None:
            self._emit(record)

    def _data(self, state: NodeState, line: Data, now: float) -> None:
        """Store a DATA line its node type's parser knows; count it raw otherwise."""
        parser = self.parsers.get(state.node_type)
        try:
            fields = None if parser is None else parser.parse(line)
        except LineError as exc:
            text = f"DATA {line.kind} {line.t_ns} {' '.join(line.fields)}"
            self.malformed(state, text, str(exc), now)
            return
        with self.network.lock:
            state.last_seen, state.silent = now, False
            state.lines["DATA"] += 1
            state.data[line.kind] = state.data.get(line.kind, 0) + 1
            if fields is None:
                state.raw += 1
                return
            state.stored += 1
        values: dict[str, Scalar] = {
            "node": state.node_id,
            "node_type": state.node_type,
            "t_ns": line.t_ns,
        }
        values.update(fields)
        self._emit(NodeRecord(line.kind, now, values))

    def _log(self, state: NodeState, line: LogLine, now: float) -> None:
        held = self._node_log.allow(state.node_id, now)
        if held is not None:
            more = f" ({held} more held back)" if held else ""
            node_log.log(line.level, "node %s: %s%s", state.node_id, line.text, more)

    def _emit(self, record: NodeRecord) -> None:
        self.records += 1
        for sink in self.sinks:
            try:
                sink(record)
            except Exception:  # one broken sink must not stop the node's stream
                self.sink_failures += 1
                log.exception("node record sink failed")
