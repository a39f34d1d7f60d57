"""Hooks: command observers, the housekeeping transform and sinks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from controlroom.device.proxy import DeviceProxy
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, RemoteError
from controlroom.rpc.hooks import CommandRecord, HkSample
from controlroom.testing.waiting import wait_until


def test_every_device_command_is_observed_with_its_outcome(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    server = serve(DummySensor(), "dummy")
    seen: list[CommandRecord] = []
    server.hooks.command_observers.append(seen.append)
    server.hooks.command_observers.append(lambda _: 1 / 0)  # a broken observer is contained
    proxy = proxies(DummySensor, server.endpoint)
    proxy.set_offset(2.5)
    with pytest.raises(RemoteError):
        proxy.fail("on purpose")
    proxy.ping()  # service commands are not device commands
    assert [r.command for r in seen] == ["set_offset", "fail"]
    ok, failed = seen
    assert ok.ok and ok.args == [2.5] and ok.result is None and ok.duration_s >= 0
    assert not failed.ok and failed.error is not None and failed.error.type == "DummyFault"
    assert failed.server == "dummy" and failed.time > 1e9


def test_reply_observers_run_after_the_reply_and_before_the_next_message(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    server = serve(DummySensor(), "dummy")
    before: list[CommandRecord] = []
    after: list[CommandRecord] = []
    answered = threading.Event()

    def held_until_answered(record: CommandRecord) -> None:
        # Blocks the server until the caller has its answer: it must not be waited for.
        assert answered.wait(10)
        after.append(record)

    server.hooks.command_observers.append(before.append)
    server.hooks.reply_observers.append(lambda _: 1 / 0)  # a broken observer is contained
    server.hooks.reply_observers.append(held_until_answered)
    proxy = proxies(DummySensor, server.endpoint, timeout=5.0)
    proxy.set_offset(1.5)  # answered while the reply observer still waits
    assert [r.command for r in before] == ["set_offset"]  # seen before the answer
    answered.set()
    assert proxy.ping() == "pong"  # the next message waits for the observers
    assert [(r.command, r.args, r.ok) for r in after] == [("set_offset", [1.5], True)]
    assert after[0] is before[0]  # one record for both


def test_housekeeping_is_transformed_then_given_to_sinks_and_published(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    server = serve(DummySensor(), "dummy", hk_period_s=0.02)
    samples: list[HkSample] = []

    def transform(name: str, when: float, values: dict[str, Any]) -> dict[str, Any]:
        return {"TEMP_" + key: value for key, value in values.items()}

    server.hooks.hk_transform = transform
    server.hooks.hk_sinks.append(samples.append)
    assert wait_until(lambda: len(samples) >= 2)
    assert set(samples[-1].values) == {"TEMP_DUMMY_VALUE", "TEMP_DUMMY_OFFSET"}
    last = proxies(DummySensor, server.endpoint).get_housekeeping()
    assert last is not None and "TEMP_DUMMY_VALUE" in last["values"]
