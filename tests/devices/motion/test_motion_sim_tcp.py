"""The stage controller simulator on real TCP sockets and as a process, with real time."""

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
    """A raw TCP client speaking CR LF lines, as a terminal program would."""

    def __init__(self, port: int) -> None:
        self._conn = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        self._buffer = b""

    def ask(self, line: str) -> str:
        self._conn.sendall(line.encode() + b"\r\n")
        while b"\r\n" not in self._buffer:
            chunk = self._conn.recv(1024)
            assert chunk, "the simulator closed the connection"
            self._buffer += chunk
        reply, self._buffer = self._buffer.split(b"\r\n", 1)
        return reply.decode()

    def close(self) -> None:
        self._conn.close()


def test_serves_over_tcp_with_crlf_replies() -> None:
    with MotionSimulator(clock=FakeClock(), latency_s=0.0) as sim:
        client = LineClient(sim.port)
        try:
            assert client.ask("1TP?;4TP?") == "12.50000,30.00000"
            client._conn.sendall(b"1PA 3\r\n")  # refused (not homed), no reply
            assert client.ask("TE?") == "150"
        finally:
            client.close()


def test_positions_read_during_a_real_move_lie_on_the_way() -> None:
    # Simulated time runs 20x faster: homing takes 0.14 s, the 40 mm move 0.41 s.
    with MotionSimulator(speed=20.0) as sim:
        client = LineClient(sim.port)
        try:
            client.ask("1OR;TE?")
            assert wait_until(lambda: client.ask("1HM?") == "1", 10.0)
            assert client.ask("1PA 40;TE?") == "0"
            readings: list[tuple[float, str]] = []

            def arrived() -> bool:
                position, done, in_position = client.ask("1TP?;1MD?;1IP?").split(",")
                readings.append((float(position), done + in_position))
                return done == "1"

            assert wait_until(arrived, 10.0, every_s=0.0)
        finally:
            client.close()
    moving = [p for p, flags in readings if flags == "00"]
    assert len(moving) >= 5 and all(0.0 <= p < 40.0 for p in moving)
    assert moving == sorted(moving) and moving[-1] > 0.0
    assert readings[-1] == (40.0, "11")


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
            assert client.ask("VE?").startswith("controlroom MC4")
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
