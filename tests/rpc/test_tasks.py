"""Scheduled tasks: delay, condition, repeat, cancel, failures; never on the command loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, FunctionTable, Proxy
from controlroom.rpc.tasks import TaskError, TaskScheduler
from controlroom.testing.waiting import wait_until


@pytest.fixture
def tasks() -> Iterator[TaskScheduler]:
    scheduler = TaskScheduler("test", poll_s=0.01)
    scheduler.start()
    yield scheduler
    scheduler.stop()


def test_a_task_runs_after_its_delay(tasks: TaskScheduler) -> None:
    ran: list[float] = []
    scheduled = time.monotonic()
    handle = tasks.schedule(lambda: ran.append(time.monotonic()), after_s=0.2, name="later")
    assert handle.wait(5.0)
    assert handle.state == "done"
    assert handle.runs == 1
    assert ran[0] - scheduled >= 0.2


def test_a_task_waits_for_its_condition(tasks: TaskScheduler) -> None:
    ready = threading.Event()
    polls: list[bool] = []
    ran: list[bool] = []

    def condition() -> bool:
        polls.append(ready.is_set())
        return ready.is_set()

    handle = tasks.schedule(lambda: ran.append(True), when=condition)
    assert wait_until(lambda: len(polls) >= 3)
    assert not ran
    assert handle.state == "waiting"
    ready.set()
    assert handle.wait(5.0)
    assert ran == [True]
    assert handle.state == "done"


def test_a_condition_that_never_holds_times_out(tasks: TaskScheduler) -> None:
    ran: list[bool] = []
    handle = tasks.schedule(lambda: ran.append(True), when=lambda: False, timeout_s=0.1)
    assert handle.wait(5.0)
    assert handle.state == "timed_out"
    assert handle.timeouts == 1
    assert not ran


def test_a_repeating_task_runs_until_cancelled(tasks: TaskScheduler) -> None:
    runs: list[bool] = []
    scheduled = time.monotonic()
    handle = tasks.schedule(lambda: runs.append(True), every_s=0.02, name="tick")
    assert wait_until(lambda: len(runs) >= 3)
    assert handle.cancel()
    assert handle.wait(5.0)
    finished = time.monotonic()
    assert handle.state == "cancelled"
    assert not handle.cancel()  # already finished
    count = len(runs)
    # A cancelled task never runs again: a task scheduled after it that does run proves it.
    assert tasks.schedule(lambda: None).wait(5.0)
    assert len(runs) == count
    # Each run starts a period after the one before, never in a burst: however late
    # the runs came, ``count`` of them need at least ``count - 1`` periods.
    assert finished - scheduled >= (count - 1) * 0.02


def test_a_task_cancelled_before_its_time_never_runs(tasks: TaskScheduler) -> None:
    ran: list[bool] = []
    handle = tasks.schedule(lambda: ran.append(True), after_s=60.0)
    assert handle.cancel()
    assert handle.state == "cancelled"
    assert handle.wait(0)
    assert tasks.describe()["tasks"][0]["state"] == "cancelled"
    assert not ran


def test_a_failure_is_logged_and_counted(
    tasks: TaskScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("sensor unplugged")

    handle = tasks.schedule(broken, name="broken")
    assert handle.wait(5.0)
    assert handle.state == "failed"
    assert (handle.runs, handle.failures) == (1, 1)
    assert handle.last_error == "RuntimeError: sensor unplugged"
    assert tasks.failures == 1
    assert "task broken failed" in caplog.text
    [listed] = tasks.describe()["tasks"]
    assert listed["state"] == "failed"


def test_a_repeating_task_carries_on_after_failures(tasks: TaskScheduler) -> None:
    def flaky_condition() -> bool:
        raise ConnectionError("no answer")

    handle = tasks.schedule(lambda: None, when=flaky_condition, every_s=0.01)
    assert wait_until(lambda: handle.failures >= 3)
    assert handle.state == "waiting"
    assert handle.runs == 0  # the callback never ran: its condition failed each time
    handle.cancel()


def test_bad_arguments_are_refused(tasks: TaskScheduler) -> None:
    with pytest.raises(ValueError, match="after_s"):
        tasks.schedule(lambda: None, after_s=-1.0)
    with pytest.raises(ValueError, match="every_s"):
        tasks.schedule(lambda: None, every_s=0.0)
    with pytest.raises(TypeError, match="callable"):
        tasks.schedule("not a function")  # type: ignore[arg-type]


def test_a_stopped_scheduler_cancels_waiting_tasks_and_refuses_new_ones() -> None:
    scheduler = TaskScheduler("test")
    scheduler.start()
    handle = scheduler.schedule(lambda: None, after_s=60.0)
    scheduler.stop()
    assert handle.state == "cancelled"
    with pytest.raises(TaskError, match="stopped"):
        scheduler.schedule(lambda: None)


def test_a_long_task_does_not_delay_ping(serve: Callable[..., ControlServer]) -> None:
    server = serve(DummySensor(), "slowtask")
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def long_task() -> None:
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(10.0)

    handle = server.tasks.schedule(long_task, name="long")
    try:
        assert started.wait(5.0)
        with Proxy(server.endpoint) as proxy:
            # Answered while the task provably still runs: it waits for ``release``.
            assert proxy.ping(timeout=10.0) == "pong"
            [listed] = proxy.info()["tasks"]["tasks"]
        assert listed["name"] == "long"
        assert listed["state"] == "running"
        assert not handle.finished
    finally:
        release.set()
    assert handle.wait(5.0)
    assert threads == ["slowtask-tasks"]


def test_a_new_setup_event_schedules_a_fetch_from_the_producer(
    serve: Callable[..., ControlServer],
) -> None:
    """The usual case: after ``new_setup`` the listener asks the producer for the Setup."""
    current: dict[str, Any] = {"setup": None}

    def load_setup(setup_id: int) -> int:
        current["setup"] = {"_meta": {"id": setup_id}, "gse": {}}
        confman.notify("new_setup", {"setup_id": setup_id})
        return setup_id

    table = {"load_setup": load_setup, "get_current_setup": lambda: current["setup"]}
    confman = ControlServer("confman", FunctionTable(table))
    confman.start()
    listener = serve(DummySensor(), "listener")
    fetched: list[tuple[int, str]] = []

    def fetch() -> None:
        with Proxy(confman.endpoint, timeout=2.0) as back:
            setup = back.call("get_current_setup")
        fetched.append((setup["_meta"]["id"], threading.current_thread().name))

    listener.on_event("new_setup", lambda _: listener.tasks.schedule(fetch, name="fetch setup"))
    try:
        with Proxy(confman.endpoint, timeout=2.0) as client:
            client.call("register_listener", "listener", listener.endpoint, ["new_setup"])
            assert client.call("load_setup", 7) == 7
            assert wait_until(lambda: fetched == [(7, "listener-tasks")])
            client.call("load_setup", 8)
            assert wait_until(lambda: len(fetched) == 2)
    finally:
        confman.stop()
    assert fetched[1] == (8, "listener-tasks")
    assert listener.tasks.runs == 2
