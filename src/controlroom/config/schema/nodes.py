"""The ``bridges.nodes`` section of the Settings: the sensor-node bridge.

The bridge (``controlroom nodes run``) accepts sensor nodes speaking lines of
text on ``host:port`` and is a control server on ``commands``/``publish``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from controlroom.config.schema.base import Endpoint, Period, Port, Section


def _origin(value: str) -> str:
    if not value or len(value) > 48 or not value.replace("_", "").isalnum():
        raise ValueError("an origin: 1-48 letters, digits or _")
    return value


Origin = Annotated[str, AfterValidator(_origin)]


class NodeBridgeSettings(Section):
    """Where nodes connect, where the bridge serves, how it stores and streams."""

    # Sensor nodes connect here (TCP, one message per line).
    host: str = "127.0.0.1"
    port: Port = 7800
    # The bridge's control server: commands (ROUTER) and publish (PUB).
    commands: Endpoint = "tcp://127.0.0.1:6800"
    publish: Endpoint = "tcp://127.0.0.1:6801"
    hk_period_s: Period = 1.0
    status_period_s: Period = 0.5
    # HK (per-node counters) is stored as <origin>; data rows as <origin>_<KIND>.
    origin: Origin = "NODES"
    # A connected node that sends nothing for this long is reported silent (an event).
    heartbeat_timeout_s: Period = 5.0
    # A longer line is malformed and skipped.
    max_line_bytes: int = Field(default=1024, ge=64, le=1_048_576)
    # Lines per node and period published on node/<node-id> for live terminals.
    stream_lines: int = Field(default=50, ge=1)
    stream_period_s: Period = 0.2
    # Log records per second and node (LOG lines, malformed-line warnings).
    log_lines_per_s: Period = 5.0
    # Data rows waiting for the storage manager: beyond high_water_rows the bridge
    # stops reading from nodes until the backlog shrinks; beyond queue_rows the
    # oldest would be dropped (counted), which high_water_rows < queue_rows prevents.
    queue_rows: int = Field(default=200_000, ge=1)
    high_water_rows: int = Field(default=100_000, ge=1)
    batch_rows: int = Field(default=5_000, ge=1)
    # A backlog above high_water_rows that has not drained for this long while
    # storage is reachable is stalled: reported (event storage_stalled), and the
    # bridge reads nodes again rather than wedging the whole fleet.
    stall_timeout_s: Period = 30.0
