"""open_transport: from the URL in a Setup to a transport, not yet connected."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.device.errors import ArgumentError
from controlroom.device.transports import (
    SerialTransport,
    TcpTransport,
    Transport,
    VisaTransport,
    open_transport,
)


def test_tcp_url() -> None:
    transport = open_transport("tcp://192.0.2.5:5025")
    assert isinstance(transport, TcpTransport)
    assert transport.url == "tcp://192.0.2.5:5025"
    assert not transport.is_connected


def test_tcp_options_from_the_query_string_get_their_types() -> None:
    transport = open_transport("tcp://localhost:5025?timeout=5&reconnect=no&write_terminator=%0D")
    assert isinstance(transport, TcpTransport)
    assert transport.timeout == 5.0
    assert transport.reconnect is False
    assert transport._write_terminator == "\r"


def test_keyword_options_override_the_url() -> None:
    transport = open_transport("tcp://localhost:5025?timeout=5", timeout=0.5)
    assert isinstance(transport, TcpTransport)
    assert transport.timeout == 0.5


def test_tcp_ipv6_host() -> None:
    transport = open_transport("tcp://[::1]:5025")
    assert isinstance(transport, TcpTransport)
    assert transport.url == "tcp://::1:5025"


def test_serial_url_with_line_settings() -> None:
    transport = open_transport("serial:///dev/ttyUSB0?baudrate=115200&parity=E&stopbits=1.5")
    assert isinstance(transport, SerialTransport)
    assert transport.url == "/dev/ttyUSB0"
    assert transport._line_settings == {
        "baudrate": 115200,
        "bytesize": 8,
        "parity": "E",
        "stopbits": 1.5,
        "rtscts": False,
    }
    handshake = open_transport("serial:///dev/ttyUSB0?baudrate=19200&rtscts=yes")
    assert isinstance(handshake, SerialTransport)
    assert handshake._line_settings["rtscts"] is True  # as an ESP300 wants it


def test_windows_serial_port() -> None:
    transport = open_transport("serial://COM3")
    assert isinstance(transport, SerialTransport)
    assert transport.url == "COM3"


@pytest.mark.parametrize("url", ["loop://", "socket://moxa:4001", "rfc2217://moxa:4002"])
def test_pyserial_urls_are_passed_through(url: str) -> None:
    transport = open_transport(url, baudrate=19200)
    assert isinstance(transport, SerialTransport)
    assert transport.url == url


def test_a_built_loop_transport_works() -> None:
    with open_transport("loop://") as transport:
        assert transport.query("hello") == "hello"


def test_visa_url() -> None:
    transport = open_transport("visa://TCPIP::192.0.2.10::INSTR?backend=@ivi&timeout=3")
    assert isinstance(transport, VisaTransport)
    assert transport.resource == "TCPIP::192.0.2.10::INSTR"


def test_visa_url_with_a_simulated_backend() -> None:
    sim = Path(__file__).with_name("sim_thermometer.yaml")
    with open_transport(f"visa://TCPIP::192.0.2.10::INSTR?backend={sim}@sim") as transport:
        assert transport.query("*IDN?").startswith("CONTROLROOM,SIMTHERM")


@pytest.mark.parametrize("url", ["tcp://h:1", "loop://", "visa://GPIB::8::INSTR"])
def test_every_result_is_a_transport(url: str) -> None:
    assert isinstance(open_transport(url), Transport)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:5025", "not a transport URL"),
        ("ftp://host/file", "unknown transport scheme"),
        ("tcp://localhost", "needs a host and a port"),
        ("tcp://:5025", "needs a host and a port"),
        ("tcp://localhost:port", "bad port"),
        ("tcp://localhost:5025?speed=9", "no URL option 'speed'"),
        ("tcp://localhost:5025?clock=1", "no URL option 'clock'"),
        ("tcp://localhost:5025?timeout=soon", "not a number"),
        ("tcp://localhost:5025?reconnect=maybe", "not a yes/no value"),
        ("serial:///dev/ttyS0?baudrate=fast", "not a number"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        open_transport(url)
