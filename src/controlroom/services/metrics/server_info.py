"""What a control server says about itself, as Prometheus metrics.

The same counters ``process_status`` reports (requests, malformed frames,
backlog, ...), read from the server at scrape time: nothing is counted twice
and nothing runs on the server's threads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

import controlroom
from controlroom.wire import PROTOCOL_VERSION

if TYPE_CHECKING:
    from controlroom.rpc.server import ControlServer

_Family = type[CounterMetricFamily] | type[GaugeMetricFamily]


class ServerMetrics:
    """A collector for one control server's identity, uptime and request counters."""

    def __init__(self, server: ControlServer) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        """Info, uptime and counters, one series each, labelled with the server name."""
        server = self.server
        yield self._info()
        yield self._one(
            GaugeMetricFamily,
            "controlroom_server_uptime_seconds",
            "Seconds since the control server started serving.",
            time.time() - server.started_at,
        )
        counters = (
            ("controlroom_requests", "Requests received (service and device).", server.requests),
            (
                "controlroom_malformed_frames",
                "Requests refused because they could not be decoded.",
                server.dispatcher.malformed,
            ),
            (
                "controlroom_hk_poll_failures",
                "Failed housekeeping polls.",
                server.publisher.failures,
            ),
            (
                "controlroom_standby_takeovers",
                "Times the standby thread answered during a long device command.",
                server.standby.takeovers,
            ),
            ("controlroom_events_dropped", "Events not delivered.", server.notifier.dropped_events),
        )
        for name, doc, value in counters:
            yield self._one(CounterMetricFamily, name, doc, value)
        yield self._one(
            GaugeMetricFamily,
            "controlroom_command_backlog",
            "Device commands waiting for the one running to end.",
            len(server.backlog),
        )
        yield self._one(
            GaugeMetricFamily,
            "controlroom_deferred_replies",
            "Device commands that returned a future and still owe their caller a reply.",
            server.deferred.outstanding,
        )
        yield from self._threads()

    def _threads(self) -> Iterator[Metric]:
        """Per background thread: is its loop running, and how often was it restarted."""
        labels = ["server", "thread"]
        up = GaugeMetricFamily(
            "controlroom_thread_up",
            "1 while a background thread's loop runs; 0 while it waits to restart or is dead.",
            labels=labels,
        )
        restarts = CounterMetricFamily(
            "controlroom_thread_restarts",
            "Times a background thread was restarted after a crash.",
            labels=labels,
        )
        for thread, state in self.server.thread_states().items():
            up.add_metric([self.server.name, thread], 1.0 if state["alive"] else 0.0)
            restarts.add_metric([self.server.name, thread], state["restarts"])
        yield up
        yield restarts

    def _info(self) -> Metric:
        info = InfoMetricFamily(
            "controlroom_server", "Control server identity and endpoints.", labels=["server"]
        )
        server = self.server
        details = {
            "version": controlroom.__version__,
            "protocol": str(PROTOCOL_VERSION),
            "commands_endpoint": server.endpoint,
            "publish_endpoint": server.pub_endpoint,
        }
        info.add_metric([server.name], details)
        return info

    def _one(self, family: _Family, name: str, doc: str, value: float) -> Metric:
        metric = family(name, doc, labels=["server"])
        metric.add_metric([self.server.name], value)
        return metric
