"""The ESP300 simulator on real TCP sockets and as a process, with real time."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys

import pytest

from controlroom.devices.motion.sim.server import MotionSimulator, main
from controlroom.testing.waiting import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class LineClient:
    """A raw TCP client ending its lines with CR, as the ESP300 expects; replies end in CR LF."""

    def __init__(self, port: int, ending: bytes = b"\r") -> None:
        self._conn = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self._ending = ending
        self._buffer = b""

    def send(self, line: str) -> None:
        self._conn.sendall(line.encode() + self._ending)

    def ask(self, line: str) -> str:
        self.send(line)
        while b"\r\n" not in self._buffer:
            chunk = self._conn.recv(1024)
            assert chunk, "the simulator closed the connection"
            self._buffer += chunk
        reply, self._buffer = self._buffer.split(b"\r\n", 1)
        return reply.decode()

    def close(self) -> None:
        self._conn.close()


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n"])
def test_takes_cr_lf_or_crlf_lines_and_replies_with_crlf(ending: bytes) -> None:
    with MotionSimulator(clock=FakeClock(), latency_s=0.0) as sim:
        client = LineClient(sim.port, ending)
        try:
            assert client.ask("1TP;4TP?") == "0.00000,0.00000"
            client.send("1PA 60")  # refused (beyond the limit), no reply
            assert client.ask("TE?") == "106"
            assert client.ask("VE?") == "ESP300 Version 3.08 09/09/02"
        finally:
            client.close()


def test_positions_read_during_a_real_move_lie_on_the_way() -> None:
    # Simulated time runs 20x faster: homing takes 0.14 s, the 40 mm move 0.41 s.
    with MotionSimulator(speed=20.0) as sim:
        client = LineClient(sim.port)
        try:
            assert client.ask("1OR;1WS;1TP;TE?") == "0.00000,0"  # WS holds the reply till home
            assert client.ask("1PA40;TE?") == "0"
            readings: list[tuple[float, str]] = []

            def arrived() -> bool:
                position, target, done = client.ask("1TP;1DP?;1MD?").split(",")
                readings.append((float(position), done + str(target == position)))
                return done == "1"

            assert wait_until(arrived, 10.0, every_s=0.0)
        finally:
            client.close()
    moving = [p for p, flags in readings if flags == "0False"]
    assert len(moving) >= 5 and all(0.0 <= p < 40.0 for p in moving)
    assert moving == sorted(moving) and moving[-1] > 0.0
    assert readings[-1] == (40.0, "1True")


def test_the_module_runs_and_prints_its_ready_line() -> None:
    argv = [sys.executable, "-m", "controlroom.devices.motion.sim.server", "--port", "0"]
    proc = subprocess.Popen([*argv, "--speed", "50"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=15.0), "no READY line within 15 s"
        ready, host, port = proc.stdout.readline().split()
        assert (ready, host) == ("READY", "127.0.0.1")
        client = LineClient(int(port))
        try:
            assert client.ask("VE?").startswith("ESP300 Version")
        finally:
            client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            proc.kill()  # never leave it behind, then fail
            code = proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0


@pytest.mark.parametrize(
    "argv", [["--speed", "0"], ["--latency", "-1"], ["--following-error", "7"]]
)
def test_main_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
