"""A control server and proxies in one process: commands, services, errors, order."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
import zmq
from rpc_helpers import Recorder

from controlroom import wire
from controlroom.device import ArgumentError
from controlroom.device.proxy import DeviceProxy
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import (
    CallTimeout,
    ControlServer,
    Proxy,
    ProxyClosed,
    RemoteError,
    ServerUnavailable,
)
from controlroom.testing.ports import free_tcp_port
from controlroom.testing.waiting import wait_until


def test_device_commands_round_trip(dummy: tuple[ControlServer, DeviceProxy]) -> None:
    _, proxy = dummy
    assert 15.0 < proxy.read_value() < 25.0
    proxy.set_offset(5.0)
    assert proxy.get_offset() == 5.0
    assert proxy.device_info().startswith("controlroom,DUMMY-SENSOR")
    assert proxy.echo({"a": [1, 2.5, "x"]}) == {"a": [1, 2.5, "x"]}


def test_remote_failure_keeps_type_message_and_traceback(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = dummy
    with pytest.raises(RemoteError) as caught:
        proxy.fail("smoke")
    err = caught.value
    assert type(err).__name__ == "RemoteDummyFault"
    assert err.info.type == "DummyFault"
    assert err.info.message == "smoke"
    assert err.origin == "dummy"
    assert "def fail" in err.remote_traceback or "in fail" in err.remote_traceback


def test_remote_builtin_errors_are_catchable_as_builtins(
    serve: Callable[..., ControlServer],
) -> None:
    from controlroom.rpc import FunctionTable

    def explode() -> None:
        raise KeyError("missing")

    server = ControlServer("fn", FunctionTable({"explode": explode}))
    server.start()
    try:
        with Proxy(server.endpoint, timeout=5) as proxy, pytest.raises(KeyError):
            proxy.call("explode")
    finally:
        server.stop()


def test_wrong_arguments_fail_locally_before_sending(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, proxy = dummy
    before = server.requests
    with pytest.raises(ArgumentError, match="outside the range"):
        proxy.set_offset(1000.0)
    assert server.requests == before


def test_wrong_arguments_sent_anyway_fail_remotely(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = dummy
    with pytest.raises(RemoteError) as caught:
        proxy.call("set_offset", "warm")
    assert caught.value.info.type == "ArgumentError"
    assert "offset" in caught.value.info.message
    with pytest.raises(RemoteError) as caught:
        proxy.call("set_offset", 1.0, 2.0)
    assert "positional" in caught.value.info.message


def test_unknown_command_is_refused_and_attributes_are_not_reachable(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = dummy
    for name in ("no_such_command", "_advance", "__init__", "housekeeping", "_rng"):
        with pytest.raises(RemoteError) as caught:
            proxy.call(name)
        assert caught.value.info.type == "UnknownCommand"
    assert proxy.ping() == "pong"


def test_info_describes_commands_as_json_schema(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, proxy = dummy
    info = proxy.info()
    assert info["name"] == "dummy"
    assert info["endpoints"] == {"commands": server.endpoint, "publish": server.pub_endpoint}
    commands = {c["name"]: c for c in info["commands"]}
    assert set(commands) == set(DummySensor.commands())
    offset = commands["set_offset"]["params"]["properties"]["offset"]
    assert offset == {"type": "number", "minimum": -100.0, "maximum": 100.0}
    assert commands["read_value"]["doc"].startswith("The current reading")
    assert {s["name"] for s in info["services"]} >= {"ping", "info", "process_status", "quit"}


def test_process_status_reports_the_process(dummy: tuple[ControlServer, DeviceProxy]) -> None:
    _, proxy = dummy
    proxy.read_value()
    status = proxy.process_status()
    assert status["pid"] > 0
    assert status["rss_mb"] > 1
    assert status["uptime_s"] >= 0
    assert status["device_commands"] >= 1


def test_rates_are_clamped_to_what_the_device_answers(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    class Slow(DummySensor):
        hk_min_period_s = 0.5

    server = serve(Slow(), "slow")
    proxy = proxies(Slow, server.endpoint)
    rates = proxy.set_rates(hk_period_s=0.01, status_period_s=2.0)
    assert rates["hk"]["period_s"] == 0.5
    assert rates["hk"]["clamped"] is True
    assert rates["status"] == {
        "period_s": 2.0,
        "requested_s": 2.0,
        "clamped": False,
        "device_min_s": pytest.approx(rates["status"]["device_min_s"]),
    }
    with pytest.raises(RemoteError, match="positive"):
        proxy.set_rates(hk_period_s=-1)


def test_set_log_level(dummy: tuple[ControlServer, DeviceProxy]) -> None:
    _, proxy = dummy
    assert proxy.set_log_level("debug", "controlroom.test") == "DEBUG"
    with pytest.raises(RemoteError, match="log level"):
        proxy.set_log_level("LOUD")


def test_an_unqueued_command_is_answered_while_a_long_one_runs(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device = Recorder()
    server = serve(device, "rec", unqueued=frozenset({"work"}))
    holder = proxies(Recorder, server.endpoint, timeout=30)
    reader = proxies(Recorder, server.endpoint, timeout=10)
    holding = threading.Thread(target=holder.hold, args=(30.0,))
    holding.start()
    try:
        assert wait_until(lambda: server.busy_since is not None)  # the long command runs
        assert reader.work("quick") == "quick"
        # Answered before the long command ended, not after it: that one waits for the gate.
        assert not device.gate.is_set() and holding.is_alive()
        assert device.max_active == 2
    finally:
        device.gate.set()
        holding.join()


def test_ping_answers_while_a_long_device_command_runs(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device = Recorder()
    server = serve(device, "rec")
    holder = proxies(Recorder, server.endpoint, timeout=30)
    pinger = proxies(Recorder, server.endpoint, timeout=10)
    pinger.ping()
    result: list[bool] = []
    holding = threading.Thread(target=lambda: result.append(holder.hold(30.0)))
    holding.start()
    try:
        assert wait_until(lambda: server.busy_since is not None)  # the long command runs
        for _ in range(10):
            # The device command waits for the gate, which only opens below: a ping
            # that queued behind it would time out instead of answering.
            assert pinger.ping() == "pong"
            assert pinger.get_rates()["hk"]["period_s"] > 0
        assert holding.is_alive() and not result
    finally:
        device.gate.set()
        holding.join()
    assert result == [True]  # the long command itself completed, after the pings


def test_an_idle_command_loop_sleeps_and_wakes_for_a_request_and_for_stop(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    server = serve(Recorder(), "rec", hk_period_s=3600)
    proxy = proxies(Recorder, server.endpoint, timeout=10)
    assert wait_until(lambda: server.idle_sleeps >= 1, 10)  # asleep in its poll now
    slept = server.idle_sleeps
    assert proxy.ping() == "pong"  # a request ends the sleep
    assert wait_until(lambda: server.idle_sleeps > slept, 10)  # and it sleeps again
    server.stop(timeout=5.0)
    assert not server._commands.is_alive()  # stop() ended the sleep: nothing polled for it


def test_an_idle_server_parks_its_standby_and_a_long_command_wakes_it(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device = Recorder()
    server = serve(device, "rec", hk_period_s=3600, takeover_after_s=0.005)
    holder = proxies(Recorder, server.endpoint, timeout=30)
    pinger = proxies(Recorder, server.endpoint, timeout=10)
    # Idle, the standby stops watching (no wake-ups at all) ...
    assert wait_until(lambda: server.standby.parked, 10)
    holding = threading.Thread(target=holder.hold, args=(30.0,))
    holding.start()
    try:
        # ... and the next device command wakes it: it takes the socket over as before.
        assert wait_until(lambda: server.standby.takeovers == 1, 10)
        assert pinger.ping() == "pong"
        assert holding.is_alive()
    finally:
        device.gate.set()
        holding.join()
    assert wait_until(lambda: server.standby.parked, 10)  # parks again once idle


def test_device_commands_run_one_at_a_time_in_arrival_order(
    serve: Callable[..., ControlServer], proxies: Callable[..., DeviceProxy]
) -> None:
    device = Recorder()
    server = serve(device, "rec", hk_period_s=0.001, takeover_after_s=0.005)
    holder = proxies(Recorder, server.endpoint, timeout=10)
    holding = threading.Thread(target=holder.hold)
    holding.start()
    assert wait_until(lambda: server.busy_since is not None)
    # While the device is held, commands from other clients queue up in order.
    clients = [proxies(Recorder, server.endpoint, timeout=10) for _ in range(4)]
    threads = []
    for index, client in enumerate(clients):
        thread = threading.Thread(target=client.work, args=(f"c{index}",))
        thread.start()
        threads.append(thread)
        assert wait_until(lambda n=index + 1: len(server.backlog) >= n)
    pinger = proxies(Recorder, server.endpoint, timeout=10)
    assert pinger.ping() == "pong"  # answered by the standby thread meanwhile
    device.gate.set()
    for thread in [holding, *threads]:
        thread.join(10)
    work = [c for c in device.calls if c.startswith("c")]
    assert work == ["c0", "c1", "c2", "c3"]
    assert device.max_active == 1


def test_late_reply_is_never_taken_for_the_next_call(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = dummy
    with pytest.raises(CallTimeout):
        proxy.request("busy", (0.3,), timeout=0.05)
    assert isinstance(proxy.read_value(), float)  # not the 0.3 s of the busy call
    assert proxy.discarded == 1


def test_timeout_is_a_timeout_error_and_closed_proxy_refuses(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    _, proxy = dummy
    with pytest.raises(TimeoutError):
        proxy.request("busy", (0.2,), timeout=0.01)
    proxy.close()
    with pytest.raises(ProxyClosed):
        proxy.ping()


def test_proxy_made_before_its_server_starts(
    proxies: Callable[..., DeviceProxy], serve: Callable[..., ControlServer]
) -> None:
    endpoint = f"tcp://127.0.0.1:{free_tcp_port()}"
    proxy = proxies(DummySensor, endpoint, timeout=0.2)
    assert proxy.read_value.__doc__ == DummySensor.commands()["read_value"].doc
    with pytest.raises(ServerUnavailable):
        proxy.read_value()
    serve(DummySensor(), "late", endpoint=endpoint)
    proxy.timeout = 5.0
    assert isinstance(proxy.read_value(), float)


@pytest.mark.timeout(20)  # the calls' own 60 s would end the test before their answers
def test_a_proxy_waits_only_its_connect_timeout_for_a_server_that_does_not_answer() -> None:
    down = f"tcp://127.0.0.1:{free_tcp_port()}"
    with Proxy(down, name="gone", timeout=60, connect_timeout=0.2) as proxy:
        with pytest.raises(ServerUnavailable, match="gone: cannot reach"):
            proxy.call("ping")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    mute = context.socket(zmq.ROUTER)  # takes the connection, never answers
    mute.setsockopt(zmq.LINGER, 0)
    port = mute.bind_to_random_port("tcp://127.0.0.1")
    hung = re.compile(r"hung does not answer at .* within 0\.2 s")
    try:
        with Proxy(f"tcp://127.0.0.1:{port}", name="hung", timeout=60, connect_timeout=0.2) as p:
            with pytest.raises(ServerUnavailable, match=hung):
                p.call("ping")
    finally:
        mute.close()


def test_quit_stops_the_server(serve: Callable[..., ControlServer]) -> None:
    server = serve(DummySensor(), "dummy")
    with Proxy(server.endpoint, timeout=5) as proxy:
        assert "stopping" in proxy.quit()
    assert server.stopping.wait(5)


def test_status_and_housekeeping_are_published(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, proxy = dummy
    context = zmq.Context.instance()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 5000)
    sub.subscribe(b"hk/dummy")
    sub.connect(server.pub_endpoint)
    try:
        topic, *body = sub.recv_multipart()
        sample = wire.unpack(body)
    finally:
        sub.close()
    assert topic == b"hk/dummy"
    assert sample["server"] == "dummy"
    assert set(sample["values"]) == {"DUMMY_VALUE", "DUMMY_OFFSET"}
    last = proxy.get_housekeeping()
    assert last is not None and "DUMMY_VALUE" in last["values"]


def test_a_req_client_in_another_language_style_is_served(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, _ = dummy
    req = zmq.Context.instance().socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.setsockopt(zmq.RCVTIMEO, 5000)
    req.connect(server.endpoint)
    try:
        req.send_multipart(wire.encode_call(7, "get_offset"))
        answer = wire.decode(req.recv_multipart())
    finally:
        req.close()
    assert (answer.kind, answer.id, answer.result) == ("reply", 7, 0.0)


def test_an_unknown_protocol_version_is_refused_clearly(
    dummy: tuple[ControlServer, DeviceProxy],
) -> None:
    server, _ = dummy
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.RCVTIMEO, 5000)
    dealer.connect(server.endpoint)
    try:
        dealer.send_multipart(wire.pack([1, "hello", 3, {"versions": [99], "client": "future"}]))
        refused = wire.decode(dealer.recv_multipart())
        dealer.send_multipart(wire.pack([99, "call", 4, "ping", [], {}]))
        wrong = wire.decode(dealer.recv_multipart())
    finally:
        dealer.close()
    assert refused.kind == "error" and refused.error is not None
    assert refused.error.type == "VersionMismatch" and "[99]" in refused.error.message
    assert wrong.kind == "error" and wrong.error is not None and wrong.id == 4
    assert wrong.error.type == "VersionMismatch"


def test_replies_may_carry_maps_with_integer_keys_requests_may_not() -> None:
    from controlroom.rpc import FunctionTable

    def channels() -> dict[int, float]:
        return {1: 0.5, 2: 0.25}

    server = ControlServer("fn", FunctionTable({"channels": channels, "echo": lambda v: v}))
    server.start()
    try:
        with Proxy(server.endpoint, timeout=5) as proxy:
            assert proxy.call("channels") == {1: 0.5, 2: 0.25}
            with pytest.raises(RemoteError, match="map key"):
                proxy.call("echo", {1: "one"})
            assert proxy.ping() == "pong"
    finally:
        server.stop()
