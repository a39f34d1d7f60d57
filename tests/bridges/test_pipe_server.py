"""The pipe-command server against a real dummy control server, through raw sockets."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pipe_client import LineClient, fallback_for

from controlroom.bridges.pipe import PipeConfig, PipeError, PipeServer
from controlroom.device import command
from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer, Proxy
from controlroom.rpc.hooks import CommandRecord
from controlroom.services.registry.server import build_server
from controlroom.testing.waiting import wait_until

ALLOWED = frozenset({"read_value", "set_offset", "get_offset", "echo", "fail", "busy", "ping"})
TOKEN = "s3cret-token"
ANY_PORT = "tcp://127.0.0.1:0"
MakePipe = Callable[..., PipeServer]


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=10.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_pipe(dummy: ControlServer) -> Iterator[MakePipe]:
    """Pipe servers on an OS-chosen loopback port, routed to ``dummy``; all stopped at the end."""
    started: list[PipeServer] = []

    def make(**options: Any) -> PipeServer:
        options.setdefault("allow", {"dummy": ALLOWED})
        options.setdefault("fallback", fallback_for(dummy))
        server = PipeServer(PipeConfig(host="127.0.0.1", port=0, **options)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def pipe(make_pipe: MakePipe) -> PipeServer:
    return make_pipe()


def test_an_allowed_command_is_answered_ok_with_its_value(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        reply = client.ask("dummy|read_value")
        assert reply.startswith("OK ")
        assert isinstance(float(reply[3:]), float)
        assert client.ask("dummy|set_offset 5") == "OK"
        assert client.ask("dummy|get_offset") == "OK 5.0"
        assert client.ask("dummy | set_offset offset=-2.5\r") == "OK"
        assert client.ask("dummy|get_offset") == "OK -2.5"


def test_values_are_plain_text_or_compact_json(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        assert client.ask("dummy|echo 'two words'") == "OK two words"
        assert client.ask("""dummy|echo '{"a": [1, 2], "b": null}'""") == 'OK {"a":[1,2],"b":null}'
        assert client.ask("dummy|echo true") == "OK true"
        assert client.ask("dummy|echo '\" padded \"'") == 'OK " padded "'
        assert client.ask("dummy|ping") == "OK pong"
        assert client.ask("PING") == "OK pong"


def test_a_command_not_allowed_is_refused(make_pipe: MakePipe) -> None:
    pipe = make_pipe(allow={"dummy": frozenset({"read_value"})})
    with LineClient(pipe.address) as client:
        reply = client.ask("dummy|set_offset 5")
    assert reply == "ERR command 'set_offset' is not allowed for dummy (allowed: read_value)"


def test_an_unknown_device_is_named(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        assert client.ask("nosuch|read_value") == "ERR unknown device 'nosuch' (devices: dummy)"
        assert client.ask("read_value").startswith("ERR expected Device|command arg ...")
        assert client.ask("dummy|") == "ERR no command after 'dummy|'"


def test_an_allowed_device_that_cannot_be_found_is_reported(make_pipe: MakePipe) -> None:
    pipe = make_pipe(allow={"ghost": frozenset({"read_value"})})
    with LineClient(pipe.address) as client:
        reply = client.ask("ghost|read_value")
    assert reply.startswith("ERR device not found: 'ghost' is not registered")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "dummy|set_offset abc",
            "ERR bad arguments: argument 'offset': expected a number, got 'abc'",
        ),
        ("dummy|set_offset offst=1", "ERR bad arguments: set_offset has no argument 'offst'"),
        ("dummy|set_offset 500", "ERR ArgumentError: argument 'offset': 500.0 is outside"),
        ("dummy|set_offset", "ERR ArgumentError: set_offset() missing a required argument"),
        ("dummy|echo 'unclosed", "ERR bad quoting: no closing quotation"),
    ],
)
def test_bad_arguments_are_named(pipe: PipeServer, line: str, expected: str) -> None:
    with LineClient(pipe.address) as client:
        assert client.ask(line).startswith(expected)
        assert client.ask("dummy|get_offset") == "OK 0.0"  # and the connection goes on


def test_a_remote_error_comes_back_with_its_type_and_message(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        assert client.ask("dummy|fail") == "ERR DummyFault: the dummy failed on purpose"
        assert client.ask('dummy|fail "out of range"') == "ERR DummyFault: out of range"


def test_commands_go_through_the_control_server_and_its_journal_hooks(
    dummy: ControlServer, pipe: PipeServer
) -> None:
    seen: list[CommandRecord] = []
    dummy.hooks.command_observers.append(seen.append)
    with LineClient(pipe.address) as client:
        assert client.ask("dummy|set_offset 1.5") == "OK"
    assert [(r.command, r.args, r.ok) for r in seen] == [("set_offset", [1.5], True)]


def test_a_device_is_found_through_the_registry_first(make_pipe: MakePipe) -> None:
    registry = build_server(
        {"services": {"registry": {"commands": ANY_PORT, "publish": ANY_PORT, "ttl_s": 60.0}}}
    )
    registry.start()
    try:
        elsewhere = ControlServer("lab-dummy", DeviceService(DummySensor()), hk_period_s=10.0)
        with elsewhere, Proxy(registry.endpoint, timeout=5.0) as proxy:
            proxy.request("register", ("moved", {"commands": elsewhere.endpoint}, {}))
            pipe = make_pipe(
                allow={"moved": frozenset({"get_offset"})},
                registry_endpoint=registry.endpoint,
                fallback={},
            )
            with LineClient(pipe.address) as client:
                assert client.ask("moved|get_offset") == "OK 0.0"
    finally:
        registry.stop()


def test_a_token_is_required_when_set(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN)
    with LineClient(pipe.address) as client:
        assert client.ask("dummy|get_offset") == "ERR unauthorised: send TOKEN <token> first"
        assert client.ask("PING") == "ERR unauthorised: send TOKEN <token> first"
        assert client.ask(f"TOKEN {TOKEN}") == "OK authorised"
        assert client.ask("dummy|get_offset") == "OK 0.0"


def test_a_wrong_token_is_refused_and_the_connection_closed(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN)
    with LineClient(pipe.address) as client:
        assert client.ask("TOKEN guess") == "ERR unauthorised: wrong token"
        assert client.closed_by_server()
    with LineClient(pipe.address) as client:  # others are still served
        assert client.ask(f"token {TOKEN}") == "OK authorised"


def test_no_token_is_refused_on_a_non_loopback_address() -> None:
    with pytest.raises(PipeError, match=r"set a token to listen on 0\.0\.0\.0"):
        PipeServer(PipeConfig(host="0.0.0.0", port=0))


def test_a_too_long_line_closes_that_connection_only(make_pipe: MakePipe) -> None:
    pipe = make_pipe(max_line_bytes=64)
    with LineClient(pipe.address) as other, LineClient(pipe.address) as client:
        client.send(b"dummy|echo " + b"x" * 200 + b"\n")
        assert client.reply() == "ERR line longer than 64 bytes; closing"
        assert client.closed_by_server()
        assert other.ask("dummy|get_offset") == "OK 0.0"
    with LineClient(pipe.address) as late:
        assert late.ask("dummy|get_offset") == "OK 0.0"


def test_garbage_bytes_get_an_error_and_the_connection_goes_on(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        client.send(b"\xff\xfe\x80garbage\n")
        assert client.reply() == "ERR request is not UTF-8 text"
        client.send(b"dummy|read\x00_value\n")
        assert client.reply() == "ERR request contains control characters"
        client.send(b"\n\r\n   \n")  # blank lines are not requests: no reply
        assert client.ask("dummy|get_offset") == "OK 0.0"


def test_a_last_line_without_newline_is_answered(pipe: PipeServer) -> None:
    with LineClient(pipe.address) as client:
        client.send(b"dummy|get_offset")
        client.sock.shutdown(1)  # SHUT_WR: like `printf 'dummy|get_offset' | nc`
        assert client.reply() == "OK 0.0"


def test_many_clients_are_served_at_once(pipe: PipeServer) -> None:
    def session(index: int) -> list[str]:
        with LineClient(pipe.address) as client:
            return [client.ask(f"dummy|echo c{index}-{n}") for n in range(10)]

    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(session, range(20)))
    assert replies == [[f"OK c{i}-{n}" for n in range(10)] for i in range(20)]


class Gated(DummySensor):
    """The dummy with a command that keeps the device busy until the test opens a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    @command()
    def hold(self) -> bool:
        """Busy until the gate opens (or 30 s pass)."""
        return self.gate.wait(30.0)


def test_a_slow_command_does_not_hold_up_other_clients(
    make_pipe: MakePipe, dummy: ControlServer
) -> None:
    device = Gated()
    gated = ControlServer("gated", DeviceService(device), hk_period_s=10.0)
    gated.start()
    try:
        pipe = make_pipe(
            allow={"dummy": ALLOWED, "gated": {"hold", "ping"}},
            fallback={**fallback_for(dummy), **fallback_for(gated)},
            request_timeout_s=60.0,
        )
        with LineClient(pipe.address) as slow, LineClient(pipe.address) as quick:
            slow.send(b"gated|hold\n")
            assert wait_until(lambda: gated.busy_since is not None)  # the slow one runs
            # Answered while the slow command provably still runs: it waits for the gate.
            assert quick.ask("gated|ping") == "OK pong"  # a service command of the same server
            assert quick.ask("dummy|get_offset") == "OK 0.0"  # another device altogether
            assert gated.busy_since is not None and not device.gate.is_set()
            device.gate.set()
            assert slow.reply() == "OK true"
    finally:
        device.gate.set()
        gated.stop()


def test_a_request_that_overruns_its_time_gets_a_timeout(make_pipe: MakePipe) -> None:
    pipe = make_pipe(request_timeout_s=0.3)
    with LineClient(pipe.address) as client:
        reply = client.ask("dummy|busy 1.0")
        assert reply == "ERR timeout: dummy did not answer within 0.3 s (is it running?)"
        assert client.ask("PING") == "OK pong"


def test_clients_beyond_the_limit_are_turned_away(make_pipe: MakePipe) -> None:
    pipe = make_pipe(max_clients=2)
    with LineClient(pipe.address) as first, LineClient(pipe.address) as second:
        assert first.ask("PING") == "OK pong"
        assert second.ask("PING") == "OK pong"
        with LineClient(pipe.address) as third:
            assert third.reply() == "ERR too many clients (2)"
            assert third.closed_by_server()


def test_an_idle_connection_is_closed(make_pipe: MakePipe) -> None:
    pipe = make_pipe(idle_timeout_s=0.2)
    with LineClient(pipe.address) as client:
        assert client.ask("PING") == "OK pong"
        assert client.closed_by_server()


def test_stop_closes_open_connections(make_pipe: MakePipe) -> None:
    pipe = make_pipe()
    with LineClient(pipe.address) as client:
        assert client.ask("PING") == "OK pong"
        stopper = threading.Thread(target=pipe.stop)
        stopper.start()
        assert client.closed_by_server()
        stopper.join()
    assert pipe.clients == 0


def test_idle_unauthenticated_connections_do_not_lock_out_a_client_with_the_token(
    make_pipe: MakePipe,
) -> None:
    pipe = make_pipe(token=TOKEN, max_clients=3, max_unauthenticated=2, auth_timeout_s=60.0)
    squatters = [LineClient(pipe.address) for _ in range(3)]  # as many as max_clients
    try:
        with LineClient(pipe.address) as client:
            assert client.ask(f"TOKEN {TOKEN}") == "OK authorised"
            assert client.ask("dummy|get_offset") == "OK 0.0"
        # Room was made by closing the oldest: never more than two wait for their TOKEN.
        for evicted in squatters[:2]:
            assert evicted.reply() == (
                "ERR unauthorised: too many connections without a TOKEN (2); closing the oldest"
            )
            assert evicted.closed_by_server()
        assert squatters[2].ask(f"TOKEN {TOKEN}") == "OK authorised"
    finally:
        for squatter in squatters:
            squatter.close()


def test_connections_waiting_for_their_token_have_their_own_quota(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN, max_clients=8, max_unauthenticated=2, auth_timeout_s=60.0)
    with LineClient(pipe.address) as member:
        assert member.ask(f"TOKEN {TOKEN}") == "OK authorised"
        waiting = [LineClient(pipe.address) for _ in range(5)]
        try:
            for evicted in waiting[:3]:
                assert evicted.reply().startswith("ERR unauthorised: too many connections")
                assert evicted.closed_by_server()
            for still in waiting[3:]:  # the two youngest are still waiting, and may go on
                assert still.ask("PING") == "ERR unauthorised: send TOKEN <token> first"
            assert pipe.clients == 3
            assert member.ask("dummy|get_offset") == "OK 0.0"
        finally:
            for client in waiting:
                client.close()


def test_a_connection_without_its_token_in_time_is_closed(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN, auth_timeout_s=0.5)
    with LineClient(pipe.address) as silent, LineClient(pipe.address) as chatty:
        chatty.send(b"PING\nPING\n")  # talking does not buy time: the deadline is the TOKEN's
        for late in (silent, chatty):
            replies = _lines_until_closed(late)
            assert replies[-1] == "ERR unauthorised: no TOKEN within 0.5 s; closing"
            assert set(replies[:-1]) <= {"ERR unauthorised: send TOKEN <token> first"}


def test_the_token_deadline_is_not_for_members(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN, auth_timeout_s=0.5)
    with _member(pipe.address) as member, LineClient(pipe.address) as late:
        assert _lines_until_closed(late)[-1].startswith("ERR unauthorised: no TOKEN")
        assert member.ask("dummy|get_offset") == "OK 0.0"  # past the deadline, still served


def _lines_until_closed(client: LineClient) -> list[str]:
    lines = []
    while line := client.reply():
        lines.append(line)
    return lines


def _member(address: tuple[str, int]) -> LineClient:
    """A client that got its TOKEN in; a machine too busy to send it in time tries again."""
    for _ in range(10):
        client = LineClient(address)
        if client.ask(f"TOKEN {TOKEN}") == "OK authorised":
            return client
        client.close()
    raise AssertionError("no connection could send its TOKEN within the deadline")


def test_clients_with_the_token_beyond_the_limit_are_turned_away(make_pipe: MakePipe) -> None:
    pipe = make_pipe(token=TOKEN, max_clients=1)
    with LineClient(pipe.address) as first, LineClient(pipe.address) as second:
        assert second.ask("PING") == "ERR unauthorised: send TOKEN <token> first"
        assert first.ask(f"TOKEN {TOKEN}") == "OK authorised"
        assert second.ask(f"TOKEN {TOKEN}") == "ERR too many clients (1)"
        assert second.closed_by_server()
        assert first.ask("dummy|get_offset") == "OK 0.0"
        with LineClient(pipe.address) as third:  # full: turned away at once
            assert third.reply() == "ERR too many clients (1)"
            assert third.closed_by_server()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auth_timeout_s": 0.0}, "auth_timeout_s"),
        ({"max_unauthenticated": 0}, "max_unauthenticated"),
    ],
)
def test_bad_authentication_limits_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(PipeError, match=message):
        PipeServer(PipeConfig(host="127.0.0.1", port=0, **options))
