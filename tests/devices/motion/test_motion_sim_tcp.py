"""The ESP300 simulator on real TCP sockets and as a process, with real time."""

from __future__ import annotations

import pytest

from controlroom.devices.motion.sim.server import MotionSimulator, main
from controlroom.testing.simulators import LineClient, SimulatorProcess
from controlroom.testing.waiting import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def esp300_client(port: int, ending: str = "\r") -> LineClient:
    """A raw TCP client ending its lines with CR, as the ESP300 expects; replies end in CR LF."""
    return LineClient(port, write_terminator=ending, read_terminator="\r\n")


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
def test_takes_cr_lf_or_crlf_lines_and_replies_with_crlf(ending: str) -> None:
    with MotionSimulator(clock=FakeClock(), latency_s=0.0) as sim:
        with esp300_client(sim.port, ending) as client:
            assert client.ask("1TP;4TP?") == "0.00000,0.00000"
            client.send("1PA 60")  # refused (beyond the limit), no reply
            assert client.ask("TE?") == "106"
            assert client.ask("VE?") == "ESP300 Version 3.08 09/09/02"


def test_positions_read_during_a_real_move_lie_on_the_way() -> None:
    # Simulated time runs 20x faster: homing takes 0.14 s, the 40 mm move 0.41 s.
    with MotionSimulator(speed=20.0) as sim, esp300_client(sim.port) as client:
        assert client.ask("1OR;1WS;1TP;TE?") == "0.00000,0"  # WS holds the reply till home
        assert client.ask("1PA40;TE?") == "0"
        readings: list[tuple[float, str]] = []

        def arrived() -> bool:
            position, target, done = client.ask("1TP;1DP?;1MD?").split(",")
            readings.append((float(position), done + str(target == position)))
            return done == "1"

        assert wait_until(arrived, 10.0, every_s=0.0)
    moving = [p for p, flags in readings if flags == "0False"]
    assert len(moving) >= 5 and all(0.0 <= p < 40.0 for p in moving)
    assert moving == sorted(moving) and moving[-1] > 0.0
    assert readings[-1] == (40.0, "1True")


def test_the_module_runs_and_prints_its_ready_line() -> None:
    module = "controlroom.devices.motion.sim.server"
    with SimulatorProcess(module, "--speed", "50") as sim, esp300_client(sim.port) as client:
        assert sim.host == "127.0.0.1"
        assert client.ask("VE?").startswith("ESP300 Version")
    assert sim.returncode == 0


@pytest.mark.parametrize(
    "argv", [["--speed", "0"], ["--latency", "-1"], ["--following-error", "7"]]
)
def test_main_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
