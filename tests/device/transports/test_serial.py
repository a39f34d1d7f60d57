"""SerialTransport on pyserial's loop:// (an echo) and socket:// (the test plays the device)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from controlroom.device.errors import ArgumentError, DeviceTimeout, ReplyError, TransportError
from controlroom.device.transports import SerialTransport, Transport

Device = tuple[SerialTransport, socket.socket]


@pytest.fixture
def make_transport() -> Iterator[Callable[..., SerialTransport]]:
    transports: list[SerialTransport] = []

    def make(url: str = "loop://", **options: Any) -> SerialTransport:
        transports.append(SerialTransport(url, **{"timeout": 0.2, **options}))
        transports[-1].connect()
        return transports[-1]

    yield make
    for transport in transports:
        transport.close()


@pytest.fixture
def device(make_transport: Callable[..., SerialTransport]) -> Iterator[Device]:
    """A transport on socket:// and the device's end of that socket, driven by the test."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        transport = make_transport(f"socket://127.0.0.1:{listener.getsockname()[1]}")
        conn, _ = listener.accept()
    with conn:
        yield transport, conn


def test_is_a_transport(make_transport: Callable[..., SerialTransport]) -> None:
    transport = make_transport()
    assert isinstance(transport, Transport)
    assert transport.is_connected


def test_query_and_read_over_a_loop(make_transport: Callable[..., SerialTransport]) -> None:
    transport = make_transport()
    assert transport.query("*IDN?") == "*IDN?"  # loop:// answers with what it was sent
    transport.write("A")
    transport.write("B")
    assert [transport.read(), transport.read()] == ["A", "B"]


def test_line_settings_reach_the_port(make_transport: Callable[..., SerialTransport]) -> None:
    transport = make_transport(baudrate=115200, parity="E", stopbits=2, bytesize=7, rtscts=True)
    assert transport.query("x") == "x"


def test_no_reply_is_a_device_timeout(make_transport: Callable[..., SerialTransport]) -> None:
    transport = make_transport()
    with pytest.raises(DeviceTimeout, match="no reply"):
        transport.read()
    assert transport.is_connected


def test_partial_reply_is_dropped_on_timeout(
    make_transport: Callable[..., SerialTransport],
) -> None:
    transport = make_transport(write_terminator="")
    transport.write("12.")
    with pytest.raises(DeviceTimeout, match=r"partial b'12\.'"):
        transport.read()


def test_device_query(device: Device) -> None:
    transport, conn = device
    transport.write("*IDN?")
    assert conn.recv(64) == b"*IDN?\r\n"
    conn.sendall(b"ACME,PSU\r\n")
    assert transport.read() == "ACME,PSU"


def test_reply_arriving_after_a_timeout_is_discarded(device: Device) -> None:
    transport, conn = device
    with pytest.raises(DeviceTimeout):
        transport.query("SLOW?")
    conn.sendall(b"late\r\n")  # the device answers after all, too late
    transport.write("FAST?")
    assert conn.recv(64) == b"SLOW?\r\nFAST?\r\n"
    conn.sendall(b"fast\r\n")
    assert transport.read() == "fast"


def test_device_hang_up_closes_the_port(device: Device) -> None:
    transport, conn = device
    conn.shutdown(socket.SHUT_RDWR)
    with pytest.raises(TransportError, match="failed") as caught:
        transport.query("PING")
    assert isinstance(caught.value.__cause__, OSError)
    assert not transport.is_connected
    with pytest.raises(TransportError, match="not open"):
        transport.read()


def test_missing_port_is_a_transport_error() -> None:
    transport = SerialTransport("/dev/controlroom-no-such-port")
    with pytest.raises(TransportError, match="cannot open") as caught:
        transport.connect()
    assert isinstance(caught.value.__cause__, OSError)
    assert not transport.is_connected


def test_bad_line_settings_are_a_transport_error() -> None:
    with pytest.raises(TransportError, match="parity"):
        SerialTransport("loop://", parity="X").connect()


def test_closed_transport_refuses_calls(make_transport: Callable[..., SerialTransport]) -> None:
    transport = make_transport()
    transport.close()
    transport.close()  # idempotent
    with pytest.raises(TransportError, match="not open"):
        transport.write("x")


def test_context_manager_opens_and_closes() -> None:
    with SerialTransport("loop://") as transport:
        assert transport.query("x") == "x"
    assert not transport.is_connected


def test_text_that_does_not_fit_the_encoding(
    make_transport: Callable[..., SerialTransport],
) -> None:
    transport = make_transport()
    with pytest.raises(ArgumentError):
        transport.write("25 \u00b0C")
    latin = make_transport(encoding="latin-1")
    latin.write("25 \u00b0C")
    assert latin.read() == "25 \u00b0C"


def test_undecodable_reply_is_a_reply_error(device: Device) -> None:
    transport, conn = device
    conn.sendall(b"\xff\r\n")
    with pytest.raises(ReplyError):
        transport.read()


def test_empty_read_terminator_is_refused() -> None:
    with pytest.raises(ArgumentError):
        SerialTransport("loop://", read_terminator="")
