"""The hexapod simulator on real TCP sockets (CR-ended commands, ACK-ended replies), and as a
process."""

from __future__ import annotations

import pytest

from controlroom.device.transports import TcpTransport
from controlroom.devices.hexapod import HexapodController
from controlroom.devices.hexapod.sim.server import HexapodSimulator, main
from controlroom.testing.simulators import LineClient, SimulatorProcess


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pmac_client(port: int) -> LineClient:
    """A raw TCP client: a line ends with CR, a reply with ACK."""
    return LineClient(port, write_terminator="\r", read_terminator="\x06")


def test_replies_are_values_ended_by_cr_then_an_ack() -> None:
    clock = FakeClock()
    with HexapodSimulator(clock=clock, latency_s=0.0) as sim, pmac_client(sim.port) as client:
        assert client.ask("&2 Q53,6,1") == "0\r0\r-18\r0\r0\r0\r"
        assert client.ask("&2 Q20=3") == ""  # a command: nothing but the ACK
        clock.now += 0.1
        assert client.ask("&2 Q20 Q36") == "0\r10\r"  # done; initialized, control on
        assert client.ask("&2 Q20=1 BOGUS") == "\x07ERR003\r"


def test_the_driver_speaks_to_it_through_a_tcp_transport() -> None:
    # Simulated time runs 50x faster: homing takes 0.4 s here.
    with HexapodSimulator(speed=50.0) as sim:
        transport = TcpTransport(sim.host, sim.port, **HexapodController.transport_defaults)
        with HexapodController(transport) as hexapod:
            assert hexapod.firmware() == 1.947 and hexapod.version() == "3.1.0.4"
            hexapod.homing(wait=True, timeout_s=30.0)
            arrived = hexapod.move_absolute(1.0, 2.0, 3.0, 0.5, -0.5, 2.0, wait=True)
            assert arrived == {"x": 1.0, "y": 2.0, "z": 3.0, "rx": 0.5, "ry": -0.5, "rz": 2.0}
            assert hexapod.is_in_position() and hexapod.get_general_state()["homing_done"]


def test_the_module_runs_and_prints_its_ready_line() -> None:
    module = "controlroom.devices.hexapod.sim.server"
    with SimulatorProcess(module, "--speed", "50") as sim, pmac_client(sim.port) as client:
        assert sim.host == "127.0.0.1"
        assert client.ask("VERSION") == "1.947\r"
    assert sim.returncode == 0


@pytest.mark.parametrize("argv", [["--speed", "0"], ["--latency", "-1"], ["--command-delay", "-1"]])
def test_main_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
