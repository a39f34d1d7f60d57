"""Deferred replies: device commands that return a Future are answered when it completes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from controlroom.device import Interface, command
from controlroom.device.proxy import DeviceProxy
from controlroom.rpc import ControlServer, RemoteError
from controlroom.rpc.hooks import CommandRecord
from controlroom.testing.waiting import wait_until

REPLY_S = 5.0  # how long a test waits for a reply it expects


class Window(Interface):
    """A device that takes commands now and answers them when the test opens its window."""

    def __init__(self) -> None:
        self.queued: dict[str, Future[str]] = {}
        self.gate = threading.Event()

    @command()
    def queue(self, tag: str) -> Future[str]:
        """Queue a command for the next window; its reply comes when it ran."""
        future: Future[str] = Future()
        self.queued[tag] = future
        return future

    @command()
    def ready(self, value: int) -> Future[int]:
        """A command whose future is already done when it is returned."""
        future: Future[int] = Future()
        future.set_result(value)
        return future

    @command()
    def now(self, value: int) -> int:
        """An ordinary command, answered at once."""
        return value

    @command()
    def hold(self) -> bool:
        """Occupy the device until the test opens the gate."""
        return self.gate.wait(2 * REPLY_S)


Serve = Callable[..., ControlServer]
Proxies = Callable[..., DeviceProxy]


@pytest.fixture
def calls() -> Iterator[ThreadPoolExecutor]:
    """Threads that wait for replies, so the test can look at which ones arrived."""
    pool = ThreadPoolExecutor(max_workers=4)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def _queued(device: Window, *tags: str) -> bool:
    return wait_until(lambda: all(tag in device.queued for tag in tags))


def test_each_caller_gets_its_reply_when_its_own_command_ran(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window")
    first, second = (proxies(Window, server.endpoint) for _ in range(2))
    first_reply = calls.submit(first.queue, "a")
    assert _queued(device, "a")
    second_reply = calls.submit(second.queue, "b")
    assert _queued(device, "b")
    assert not first_reply.done() and not second_reply.done()

    device.queued["b"].set_result("B ran")
    assert second_reply.result(REPLY_S) == "B ran"
    assert not first_reply.done()  # the second reply went out, the first still waits
    assert server.deferred.outstanding == 1

    device.queued["a"].set_result("A ran")
    assert first_reply.result(REPLY_S) == "A ran"
    assert wait_until(lambda: server.deferred.outstanding == 0)


def test_other_commands_are_served_while_a_reply_is_owed(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window")
    waiting = calls.submit(proxies(Window, server.endpoint).queue, "a")
    assert _queued(device, "a")
    other = proxies(Window, server.endpoint)
    assert other.now(7) == 7
    assert other.ping() == "pong"
    assert other.ready(3) == 3  # a future already done is answered at once
    assert other.process_status()["deferred_replies"] == 1
    assert not waiting.done()
    device.queued["a"].set_result("done")
    assert waiting.result(REPLY_S) == "done"
    assert other.process_status()["deferred_replies"] == 0


def test_a_failed_future_is_the_callers_remote_error(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window")
    waiting = calls.submit(proxies(Window, server.endpoint).queue, "a")
    assert _queued(device, "a")
    device.queued["a"].set_exception(ValueError("window missed"))
    with pytest.raises(RemoteError) as caught:
        waiting.result(REPLY_S)
    assert isinstance(caught.value, ValueError)
    assert caught.value.info.type == "ValueError"
    assert caught.value.info.message == "window missed"
    assert caught.value.origin == "window"


def test_the_journal_sees_a_deferred_call_once_when_it_completes(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window")
    records: list[CommandRecord] = []
    server.hooks.command_observers.append(records.append)
    waiting = calls.submit(proxies(Window, server.endpoint).queue, "a")
    assert _queued(device, "a")
    assert [r.command for r in records] == []  # running, not yet journaled

    completing = time.time()
    device.queued["a"].set_result("A ran")
    assert waiting.result(REPLY_S) == "A ran"
    journaled = [r for r in records if r.command == "queue"]
    assert len(journaled) == 1  # observed before the reply went out, and only once
    record = journaled[0]
    assert record.ok and record.result == "A ran"
    assert record.args == ["a"] or record.kwargs == {"tag": "a"}
    # The duration runs up to completion, not to the moment the method returned.
    assert record.time + record.duration_s >= completing


def test_a_reply_completed_during_a_long_command_is_sent_by_the_standby(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window", takeover_after_s=0.005)
    waiting = calls.submit(proxies(Window, server.endpoint).queue, "a")
    assert _queued(device, "a")
    holding = calls.submit(proxies(Window, server.endpoint).hold)
    assert wait_until(lambda: server.busy_since is not None and server.standby.takeovers > 0)
    device.queued["a"].set_result("A ran")
    try:
        assert waiting.result(REPLY_S) == "A ran"
        assert not holding.done()  # delivered while the long command still ran
    finally:
        device.gate.set()
    assert holding.result(REPLY_S) is True


def test_replies_beyond_the_bound_are_refused_and_cancelled(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "window", max_deferred=2)
    waiting = [calls.submit(proxies(Window, server.endpoint).queue, tag) for tag in "ab"]
    assert _queued(device, "a", "b")
    with pytest.raises(RemoteError) as caught:
        proxies(Window, server.endpoint).queue("c")
    assert caught.value.info.type == "ServerBusy"
    assert "2 replies owed" in caught.value.info.message
    assert "queue was cancelled" in caught.value.info.message
    assert device.queued["c"].cancelled()
    assert server.deferred.refused == 1
    for tag, reply in zip("ab", waiting, strict=True):
        device.queued[tag].set_result(tag)
        assert reply.result(REPLY_S) == tag


def test_stopping_answers_owed_calls_and_ignores_late_completions(
    serve: Serve, proxies: Proxies, calls: ThreadPoolExecutor
) -> None:
    device = Window()
    server = serve(device, "stopping")
    records: list[CommandRecord] = []
    server.hooks.command_observers.append(records.append)
    waiting = {tag: calls.submit(proxies(Window, server.endpoint).queue, tag) for tag in "abc"}
    assert _queued(device, "a", "b", "c")
    device.queued["c"].set_result("C ran")
    assert waiting["c"].result(REPLY_S) == "C ran"
    waiting["c"] = calls.submit(proxies(Window, server.endpoint).queue, "c2")
    assert _queued(device, "c2")
    # "b" is running in the device: it cannot be cancelled and completes after the stop.
    assert device.queued["b"].set_running_or_notify_cancel()

    server.stop()
    for tag in "ab":
        with pytest.raises(RemoteError) as caught:
            waiting[tag].result(REPLY_S)
        assert caught.value.info.type == "ServerStopped"
        assert "stopping stopped before queue completed" in caught.value.info.message
    assert device.queued["a"].cancelled()
    device.queued["b"].set_result("too late")  # the callback finds the server stopped
    assert server.deferred.outstanding == 0
    assert server.deferred.abandoned == 3  # a, b and c2
    assert sorted(r.error.type for r in records if r.error is not None) == ["ServerStopped"] * 3
    # The server's threads are named after it: none is left.
    assert not [t.name for t in threading.enumerate() if t.name.startswith("stopping-")]
