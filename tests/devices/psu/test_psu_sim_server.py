"""The HMP4040 simulator on real TCP sockets, in-process and as its own process."""

from __future__ import annotations

import math
import socket

import pytest

from controlroom.devices.psu.sim.load import (
    LampLoad,
    LoadSpecError,
    ResistiveLoad,
    parse_channel_load,
    parse_load,
)
from controlroom.devices.psu.sim.server import NO_DELAYS, PsuSimulator
from controlroom.testing.simulators import LineClient, SimulatorProcess
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


@pytest.mark.integration
def test_the_simulator_process_prints_ready_takes_loads_and_stops_on_sigterm() -> None:
    options = ("--load", "1=2", "--no-delays")
    module = "controlroom.devices.psu.sim.server"
    with SimulatorProcess(module, *options, ready_timeout=READY_TIMEOUT_S) as sim:
        assert sim.host == "127.0.0.1"
        with LineClient(sim.port) as psu:
            # 10 V into the 2 ohm load given on the command line: held at the 1 A limit.
            psu.ask("APPL 10,1;:OUTP ON;:*OPC?")
            # Bit 0 of the channel's status condition: constant current.
            cc = "STAT:QUES:INST:ISUM1:COND?"
            assert wait_until(lambda: psu.ask(cc) == "1", 10.0, every_s=0.01)
            volts, amps = psu.ask("MEAS:VOLT?;:MEAS:CURR?").split(";")
            assert (float(volts), float(amps)) == (
                pytest.approx(2.0, abs=0.005),
                pytest.approx(1.0, abs=0.001),
            )
        sim.stop(timeout=30.0)
        assert sim.returncode == 0
