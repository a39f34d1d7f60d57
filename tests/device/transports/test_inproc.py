"""InProcessTransport: a driver wired straight to a simulator's handle_line."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from controlroom.device.errors import ArgumentError, DeviceTimeout, TransportError
from controlroom.device.transports import InProcessTransport, Transport


class Lamp:
    """A minimal simulator: ``ON``/``OFF`` change state silently, ``STATE?`` answers."""

    def __init__(self) -> None:
        self.on = False
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def handle_line(self, line: str) -> str | None:
        with self._lock:
            self.lines.append(line)
        if line in ("ON", "OFF"):
            self.on = line == "ON"
            return None
        if line == "STATE?":
            return "1" if self.on else "0"
        if line == "CRASH":
            raise RuntimeError("simulator bug")
        if line.startswith("ECHO "):
            return line.removeprefix("ECHO ")
        return "ERR unknown command"


@pytest.fixture
def lamp() -> Lamp:
    return Lamp()


@pytest.fixture
def transport(lamp: Lamp) -> InProcessTransport:
    transport = InProcessTransport(lamp.handle_line)
    transport.connect()
    return transport


def test_is_a_transport(transport: InProcessTransport) -> None:
    assert isinstance(transport, Transport)
    assert transport.is_connected


def test_write_and_query_reach_the_simulator(transport: InProcessTransport, lamp: Lamp) -> None:
    transport.write("ON")
    assert lamp.on
    assert transport.query("STATE?") == "1"
    assert lamp.lines == ["ON", "STATE?"]


def test_query_without_a_reply_times_out(transport: InProcessTransport) -> None:
    with pytest.raises(DeviceTimeout):
        transport.query("OFF")


def test_unread_replies_wait_for_read_in_order(transport: InProcessTransport) -> None:
    transport.write("ECHO a")
    transport.write("ECHO b")
    assert [transport.read(), transport.read()] == ["a", "b"]
    with pytest.raises(DeviceTimeout):
        transport.read()


def test_simulator_failure_is_a_transport_error(transport: InProcessTransport) -> None:
    with pytest.raises(TransportError, match="CRASH") as caught:
        transport.write("CRASH")
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_not_connected_until_connect(lamp: Lamp) -> None:
    transport = InProcessTransport(lamp.handle_line)
    assert not transport.is_connected
    with pytest.raises(TransportError, match="not connected"):
        transport.write("ON")
    assert lamp.lines == []


def test_close_drops_pending_replies(transport: InProcessTransport) -> None:
    transport.write("ECHO stale")
    transport.close()
    transport.close()
    with pytest.raises(TransportError):
        transport.read()
    transport.connect()
    with pytest.raises(DeviceTimeout):
        transport.read()


def test_context_manager(lamp: Lamp) -> None:
    with InProcessTransport(lamp.handle_line) as transport:
        assert transport.query("ECHO hi") == "hi"
    assert not transport.is_connected


def test_concurrent_queries_each_get_their_own_reply(transport: InProcessTransport) -> None:
    def ask(worker: int) -> list[str]:
        return [transport.query(f"ECHO {worker}-{i}") for i in range(100)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(ask, range(4)))
    for worker, replies in enumerate(results):
        assert replies == [f"{worker}-{i}" for i in range(100)]


def test_a_command_with_a_line_break_never_reaches_the_instrument() -> None:
    received: list[str] = []

    def handler(line: str) -> str:
        received.append(line)
        return "ok"

    transport = InProcessTransport(handler)
    transport.connect()
    for smuggled in ("VOLT 1\n*RST", "VOLT 1\r*RST"):
        with pytest.raises(ArgumentError, match="holds a line break"):
            transport.query(smuggled)
        with pytest.raises(ArgumentError, match="holds a line break"):
            transport.write(smuggled)
    assert transport.query("VOLT?") == "ok" and received == ["VOLT?"]
