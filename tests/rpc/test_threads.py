"""Supervised background threads: a crash is logged, counted, published, and restarted."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rpc_helpers import Recorder
from rpc_pubsub import Subscription

from controlroom.device.proxy import DeviceProxy
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy, RemoteError, RpcError
from controlroom.rpc.threads import Crash, RestartPolicy, Supervisor
from controlroom.testing.waiting import wait_until

FAST = RestartPolicy(first_delay_s=0.01, max_delay_s=0.05, max_restarts=3)


@pytest.fixture
def supervisor() -> Iterator[tuple[Supervisor, threading.Event]]:
    stop = threading.Event()
    yield Supervisor("test", policy=FAST), stop
    stop.set()


def _crash_first(times: int, then: Callable[[], None]) -> Callable[[], None]:
    """A loop body that raises on its first ``times`` runs, then runs ``then``."""
    runs = iter(range(times))

    def body() -> None:
        if next(runs, None) is not None:
            raise RuntimeError("injected fault")
        then()

    return body


def test_a_crashed_loop_is_counted_told_and_run_again(
    supervisor: tuple[Supervisor, threading.Event],
) -> None:
    sup, stop = supervisor
    crashes: list[Crash] = []
    sup.observers.append(crashes.append)
    running = threading.Event()
    thread = sup.thread("worker", _crash_first(2, lambda: (running.set(), stop.wait())), stop=stop)
    thread.start()
    assert running.wait(5.0)
    state = sup.describe()["worker"]
    assert state["alive"] is True
    assert state["restarts"] == 2
    assert state["last_error"] == "RuntimeError: injected fault"
    assert [c.restarting for c in crashes] == [True, True]
    sup.check()  # restarted: healthy
    stop.set()
    thread.join(5.0)
    assert sup.describe()["worker"]["state"] == "stopped"


def test_a_loop_that_returns_unasked_is_a_crash(
    supervisor: tuple[Supervisor, threading.Event],
) -> None:
    sup, stop = supervisor
    running = threading.Event()
    thread = sup.thread(
        "worker", _returns_once(then=lambda: (running.set(), stop.wait())), stop=stop
    )
    thread.start()
    assert running.wait(5.0)
    assert sup.describe()["worker"]["restarts"] == 1
    assert "no stop was asked for" in str(sup.describe()["worker"]["last_error"])


def _returns_once(then: Callable[[], None]) -> Callable[[], None]:
    calls = iter(range(1))

    def body() -> None:
        if next(calls, None) is None:
            then()

    return body


def test_a_loop_that_keeps_crashing_is_left_dead_and_check_says_so(
    supervisor: tuple[Supervisor, threading.Event],
) -> None:
    sup, stop = supervisor
    crashes: list[Crash] = []
    sup.observers.append(crashes.append)
    thread = sup.thread("worker", _crash_first(100, lambda: None), stop=stop)
    thread.start()
    thread.join(5.0)
    assert not thread.is_alive()
    assert sup.describe()["worker"]["state"] == "dead"
    assert len(crashes) == FAST.max_restarts + 1
    assert crashes[-1].restarting is False
    with pytest.raises(Exception, match="worker"):
        sup.check()


def test_a_crashed_publisher_is_logged_published_listed_and_restarted(
    dummy: tuple[ControlServer, DeviceProxy],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, proxy = dummy
    with Subscription(server.pub_endpoint, f"hk/{server.name}", f"event/{server.name}") as sub:
        assert sub.next_hk(after=0.0) is not None  # flowing before the fault
        crashed_at = _crash_publisher_once(server, monkeypatch)
        # The crash is announced on the PUB socket once the publisher runs again...
        died = sub.next_event("thread_died")
        assert died is not None and died["thread"] == "publisher"
        assert "injected publisher fault" in died["error"] and died["restarting"] is True
        # ...and housekeeping flows again.
        assert sub.next_hk(after=crashed_at) is not None
    status = proxy.process_status()
    publisher = status["background_threads"]["publisher"]
    assert publisher["restarts"] == 1 and publisher["alive"] is True
    assert "injected publisher fault" in publisher["last_error"]
    assert status["hk_failures"] == 0  # the crash is not a failed poll
    assert proxy.ping() == "pong"  # restarted, so healthy
    [record] = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None


def _crash_publisher_once(server: ControlServer, monkeypatch: pytest.MonkeyPatch) -> float:
    """Make the publisher loop raise once; the time of the crash (UTC seconds)."""
    flush = server.publisher._flush_events
    crashed = threading.Event()
    when: list[float] = []

    def faulty_flush() -> None:
        if not crashed.is_set():
            crashed.set()
            when.append(time.time())
            raise RuntimeError("injected publisher fault")
        flush()

    monkeypatch.setattr(server.publisher, "_flush_events", faulty_flush)
    assert crashed.wait(5.0)
    return when[0]


def test_a_thread_dead_beyond_restart_fails_ping_but_the_server_still_reports(
    serve: Callable[..., ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(DummySensor(), "sick", hk_period_s=0.01, restart_policy=FAST)

    def always_fails() -> None:
        raise RuntimeError("publisher cannot run")

    monkeypatch.setattr(server.publisher, "_flush_events", always_fails)
    with Proxy(server.endpoint, timeout=5.0) as proxy:
        assert wait_until(
            lambda: proxy.process_status()["background_threads"]["publisher"]["state"] == "dead"
        )
        with pytest.raises(RemoteError, match="publisher"):
            proxy.ping()
        assert proxy.is_alive() is False
        info: dict[str, Any] = proxy.info()  # the other service commands still answer
        assert info["background_threads"]["commands"]["alive"] is True


def test_the_command_loop_is_restarted_after_a_crash(
    serve: Callable[..., ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(Recorder(), "rec", restart_policy=FAST)
    handle = server.handle
    crashed = threading.Event()

    def faulty_handle(frames: list[bytes], user: str | None = None, *, run_device: bool) -> None:
        if not crashed.is_set():
            crashed.set()
            raise RuntimeError("injected loop fault")
        handle(frames, user, run_device=run_device)

    monkeypatch.setattr(server, "handle", faulty_handle)
    with Proxy(server.endpoint, timeout=0.5) as lost:
        with pytest.raises(RpcError):  # that one request is lost with the crash
            lost.ping()
    assert crashed.is_set()
    with Proxy(server.endpoint, timeout=5.0) as proxy:
        assert proxy.call("work", "after") == "after"  # device commands too
        assert proxy.process_status()["background_threads"]["commands"]["restarts"] == 1
