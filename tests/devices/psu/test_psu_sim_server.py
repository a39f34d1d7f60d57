"""The HMP4040 simulator on real TCP sockets, in-process and as its own process."""

from __future__ import annotations

import math
import selectors
import signal
import socket
import subprocess
import sys

import pytest

from controlroom.devices.psu.sim.load import (
    LampLoad,
    LoadSpecError,
    ResistiveLoad,
    parse_channel_load,
    parse_load,
)
from controlroom.devices.psu.sim.server import NO_DELAYS, PsuSimulator
from controlroom.testing.waiting import wait_until

READY_TIMEOUT_S = 30.0


def _exchange(conn: socket.socket, data: bytes, replies: int) -> list[bytes]:
    conn.sendall(data)
    received = b""
    while received.count(b"\n") < replies:
        chunk = conn.recv(4096)
        assert chunk, "the simulator closed the connection"
        received += chunk
    return received.splitlines()


def test_serves_scpi_over_tcp_with_lf_replies() -> None:
    with (
        PsuSimulator(port=0, delays=NO_DELAYS) as sim,
        socket.create_connection((sim.host, sim.port), timeout=5.0) as conn,
    ):
        lines = _exchange(conn, b"*IDN?\r\nINST:NSEL 2;:VOLT 3.3;:VOLT?\nBOGUS\nSYST:ERR?\n", 3)
    assert lines == [
        b"ROHDE&SCHWARZ,HMP4040,000001,HW50020003/SW2.70",
        b"3.300",
        b'-113,"Undefined header"',
    ]


def test_two_clients_share_one_instrument() -> None:
    with (
        PsuSimulator(port=0, delays=NO_DELAYS) as sim,
        socket.create_connection((sim.host, sim.port), timeout=5.0) as first,
        socket.create_connection((sim.host, sim.port), timeout=5.0) as second,
    ):
        _exchange(first, b"INST:NSEL 4;:CURR 0.5;:CURR?\n", 1)
        # The selection is the instrument's, not the connection's: SCPI has no sessions.
        assert _exchange(second, b"INST:NSEL?;:CURR?\n", 1) == [b"4;0.5000"]


def test_load_notation() -> None:
    assert math.isinf(parse_load("open").ohms)
    assert parse_load(" 4.7 ").ohms == 4.7
    lamp = parse_load("lamp:2:12:12")
    assert isinstance(lamp, LampLoad) and lamp.ohms == 2.0 and lamp.tau_s == 0.5
    assert lamp.describe() == "lamp:2:12:12:0.5"
    assert parse_channel_load("4=open")[0] == 4
    assert ResistiveLoad(10).describe() == "10"
    for bad in ("0", "-1", "nan", "lamp:12:2:12", "lamp:2:12", "lamp:2:12:0", "wire"):
        with pytest.raises(LoadSpecError):
            parse_load(bad)
    with pytest.raises(LoadSpecError, match="CHANNEL=LOAD"):
        parse_channel_load("10")


def test_a_hot_lamp_cools_down_when_switched_off() -> None:
    lamp = LampLoad(2.0, 12.0, 12.0, tau_s=0.5)
    lamp.advance(12.0, 1.0)
    hot = lamp.ohms
    assert hot > 8.0
    lamp.advance(0.0, 5.0)
    assert lamp.ohms < 2.1


def _read_ready_line(proc: subprocess.Popen[str]) -> str:
    """Wait (bounded, no sleeping) for the child's first stdout line."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=READY_TIMEOUT_S):
            raise TimeoutError("simulator did not print READY")
    return proc.stdout.readline()


@pytest.mark.integration
def test_the_simulator_process_prints_ready_takes_loads_and_stops_on_sigterm() -> None:
    argv = [sys.executable, "-m", "controlroom.devices.psu.sim.server", "--port", "0"]
    argv += ["--load", "1=2", "--no-delays"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        word, host, port = _read_ready_line(proc).split()
        assert (word, host) == ("READY", "127.0.0.1")
        with socket.create_connection((host, int(port)), timeout=5.0) as conn:
            # 10 V into the 2 ohm load given on the command line: held at the 1 A limit.
            _exchange(conn, b"APPL 10,1;:OUTP ON;:*OPC?\n", 1)
            # Bit 0 of the channel's status condition: constant current.
            cc = b"STAT:QUES:INST:ISUM1:COND?\n"
            assert wait_until(lambda: _exchange(conn, cc, 1)[0] == b"1", 10.0, every_s=0.01)
            volts, amps = _exchange(conn, b"MEAS:VOLT?;:MEAS:CURR?\n", 1)[0].split(b";")
            assert (float(volts), float(amps)) == (
                pytest.approx(2.0, abs=0.005),
                pytest.approx(1.0, abs=0.001),
            )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
