"""Background threads of a control server as metrics: running, and restarts after crashes."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from metrics_helpers import scrape, value

from controlroom.rpc import ControlServer
from controlroom.services.metrics import MetricsExporter
from controlroom.testing.waiting import wait_until

Metered = Callable[..., tuple[ControlServer, MetricsExporter]]


def test_each_thread_is_up_and_a_restart_is_counted(
    metered: Metered, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, exporter = metered()
    samples = scrape(exporter.url)
    for thread in ("commands", "standby", "publisher", "notifier", "events", "tasks"):
        assert value(samples, "controlroom_thread_up", server="dummy", thread=thread) == 1
    restarts = value(samples, "controlroom_thread_restarts_total", thread="publisher")
    assert restarts == 0
    flush = server.publisher._flush_events
    crashed = threading.Event()

    def crash_once() -> None:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("injected publisher fault")
        flush()

    monkeypatch.setattr(server.publisher, "_flush_events", crash_once)
    assert wait_until(
        lambda: (
            value(scrape(exporter.url), "controlroom_thread_restarts_total", thread="publisher")
            == 1
        )
    )
    assert value(scrape(exporter.url), "controlroom_thread_up", thread="publisher") == 1
