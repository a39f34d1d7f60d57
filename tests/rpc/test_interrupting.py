"""Interrupting commands on a control server: they run while another command is in progress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from controlroom.device import Interface, command
from controlroom.device.proxy import DeviceProxy
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.errors import RemoteError
from controlroom.rpc.hooks import CommandRecord
from controlroom.testing.waiting import wait_until


class Stage(Interface):
    """One axis: a move waits until it arrives, unless something stops it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.moving = threading.Event()
        self.stopped_while_moving = False
        self.position = 0.0
        self.slow_stop = threading.Event()

    @command()
    def move(self, target: float, seconds: float = 600.0) -> float:
        watch = self.interruption.watch()
        self.calls.append("move")
        self.moving.set()
        try:
            watch.sleep(seconds)  # the test ends it with a stop, never by waiting this long
        finally:
            self.moving.clear()
        self.position = target
        return target

    @command(interrupts=True)
    def stop(self, how: int = 0) -> str:
        """0: stop; 1: the instrument refuses it; 2: the instrument takes its time."""
        self.calls.append("stop")
        self.stopped_while_moving = self.moving.is_set()
        if how == 1:
            raise RuntimeError("the controller refused the stop")
        if how == 2:
            self.slow_stop.wait(30)
        return "stopped"

    @command()
    def nudge(self, step: float) -> float:
        self.calls.append("nudge")
        self.position += step
        return self.position

    @command(access="read")
    def where(self) -> float:
        self.calls.append("where")
        return self.position


Results = dict[str, Any]


def _in_thread(call: Callable[[], Any], results: Results, key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = call()
        except Exception as exc:  # the thread's outcome is what the test checks
            results[key] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def stage(serve: Callable[..., ControlServer]) -> tuple[Stage, ControlServer]:
    device = Stage()
    return device, serve(device, "stage")


def test_a_stop_runs_during_a_long_move_and_the_move_returns_interrupted(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    mover = proxies(Stage, server.endpoint, timeout=60)
    stopper = proxies(Stage, server.endpoint, timeout=10)
    results: Results = {}
    moving = _in_thread(lambda: mover.move(5.0), results, "move")
    try:
        assert device.moving.wait(10)
        assert stopper.stop() == "stopped"
    finally:
        moving.join(30)
    assert device.stopped_while_moving  # beside the move, not after it
    assert isinstance(results["move"], RemoteError)
    assert results["move"].info.type == "Interrupted"
    assert "interrupted by stop" in str(results["move"])
    assert device.calls == ["move", "stop"] and device.position == 0.0
    assert server.interrupts == 1


def test_a_stop_cancels_queued_changes_and_keeps_queued_reads(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    journal: list[CommandRecord] = []
    server.hooks.reply_observers.append(journal.append)
    clients = {key: proxies(Stage, server.endpoint, timeout=60) for key in ("a", "b", "c", "d")}
    results: Results = {}
    threads = [_in_thread(lambda: clients["a"].move(5.0), results, "move")]
    try:
        assert device.moving.wait(10)
        threads.append(_in_thread(lambda: clients["b"].nudge(1.0), results, "nudge"))
        threads.append(_in_thread(clients["c"].where, results, "where"))
        assert wait_until(lambda: len(server.backlog) == 2, timeout_s=10)
        assert clients["d"].stop() == "stopped"
    finally:
        for thread in threads:
            thread.join(30)
    assert isinstance(results["nudge"], RemoteError)
    assert results["nudge"].info.type == "Cancelled"
    assert "nudge was cancelled by stop" in str(results["nudge"])
    assert results["where"] == 0.0  # the read queued behind the move still ran
    assert device.calls == ["move", "stop", "where"]  # the nudge never reached the device
    assert wait_until(lambda: len(journal) == 4)
    outcomes = {r.command: (r.error.type if r.error else "ok") for r in journal}
    assert outcomes == {"move": "Interrupted", "stop": "ok", "nudge": "Cancelled", "where": "ok"}


def test_a_stop_with_nothing_in_progress_runs_like_any_command(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    proxy = proxies(Stage, server.endpoint)
    assert proxy.stop() == "stopped"
    assert proxy.nudge(2.0) == 2.0
    assert device.calls == ["stop", "nudge"] and not device.stopped_while_moving
    commands = {c["name"]: c for c in proxy.info()["commands"]}
    assert commands["stop"]["interrupts"] is True and "interrupts" not in commands["nudge"]


def test_a_commander_without_the_lease_may_stop_but_not_move(
    stage: tuple[Stage, ControlServer],
) -> None:
    _, server = stage

    def person(user: str) -> Proxy:
        claim = {"user": user, "role": "operator", "via": "web"}
        return Proxy(server.endpoint, timeout=5.0, on_behalf=claim)

    with person("alice") as alice, person("bob") as bob:
        alice.lease(60)
        with pytest.raises(PermissionError, match="leased by alice"):
            bob.call("nudge", 1.0)
        assert bob.call("stop") == "stopped"  # a stop button works whoever holds the lease


def test_a_stop_with_wrong_arguments_stops_nothing_and_cancels_nothing(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    clients = [proxies(Stage, server.endpoint, timeout=60) for _ in range(3)]
    results: Results = {}
    threads = [_in_thread(lambda: clients[0].move(5.0, 1.0), results, "move")]
    try:
        assert device.moving.wait(10)
        threads.append(_in_thread(lambda: clients[1].nudge(1.0), results, "nudge"))
        assert wait_until(lambda: len(server.backlog) == 1, timeout_s=10)
        with pytest.raises(RemoteError, match="how"):
            clients[2].call("stop", "fast")
    finally:
        for thread in threads:
            thread.join(30)
    assert results == {"move": 5.0, "nudge": 6.0}  # the move arrived, the nudge ran after it
    assert device.calls == ["move", "nudge"] and server.interrupts == 0


def test_a_refused_stop_does_not_end_the_wait(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    mover, stopper = (proxies(Stage, server.endpoint, timeout=60) for _ in range(2))
    results: Results = {}
    moving = _in_thread(lambda: mover.move(5.0), results, "move")
    try:
        assert device.moving.wait(10)
        with pytest.raises(RemoteError, match="refused the stop"):
            stopper.stop(1)
        assert moving.is_alive() and "move" not in results  # the axis may still move
        assert stopper.stop() == "stopped"
    finally:
        moving.join(30)
    assert results["move"].info.type == "Interrupted"


def test_a_slow_stop_never_keeps_the_server_from_answering(
    stage: tuple[Stage, ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device, server = stage
    stopper, pinger = (proxies(Stage, server.endpoint, timeout=30) for _ in range(2))
    results: Results = {}
    stopping = _in_thread(lambda: stopper.stop(2), results, "stop")
    try:
        assert wait_until(lambda: device.calls == ["stop"], timeout_s=10)
        for _ in range(3):  # the stop still waits on the instrument meanwhile
            assert pinger.ping() == "pong"
        assert stopping.is_alive()
    finally:
        device.slow_stop.set()
        stopping.join(30)
    assert results["stop"] == "stopped"
