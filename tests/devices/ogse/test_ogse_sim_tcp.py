"""The OGSE simulator over real TCP: one client at a time, signals, command-line faults."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from controlroom.devices.ogse.sim.server import OGSESimulator
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


class Client:
    """A plain socket client speaking the OGSE line protocol."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def reply(self) -> str:
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the simulator hung up")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def ask(self, line: str) -> str:
        self.send(line)
        return self.reply()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def served() -> Iterator[OGSESimulator]:
    with OGSESimulator(port=0, latency=0) as sim:
        yield sim


def test_a_second_client_waits_until_the_first_leaves(served: OGSESimulator) -> None:
    first = Client(served.port)
    assert first.ask("get power") == "power: OFF"
    second = Client(served.port, timeout=0.3)  # the connect succeeds: queued in the backlog
    second.send("version")
    with pytest.raises(TimeoutError):
        second.reply()
    assert first.ask("power on") == "OK"  # the first client keeps the controller
    first.close()
    second.sock.settimeout(5.0)
    assert second.reply().startswith("OGSE controller")
    assert second.ask("get power") == "power: ON"
    second.close()


def test_exit_hangs_up_and_frees_the_place(served: OGSESimulator) -> None:
    first = Client(served.port)
    assert first.ask("get lamp") == "lamp: OFF"
    waiting = Client(served.port)
    first.send("exit")
    with pytest.raises(ConnectionError):
        first.reply()
    first.close()
    assert waiting.ask("get lamp") == "lamp: OFF"
    waiting.send("quit")
    with pytest.raises(ConnectionError):
        waiting.reply()
    waiting.close()
    assert wait_until(lambda: not served.has_client, 5.0)


def test_stop_does_not_hang_on_a_waiting_client() -> None:
    sim = OGSESimulator(port=0, latency=0)
    sim.start()
    holder, waiting = Client(sim.port), Client(sim.port)
    assert holder.ask("get psu") == "psu: OFF"
    sim.stop()
    for client in (holder, waiting):
        client.sock.settimeout(5.0)
        with pytest.raises((ConnectionError, OSError)):
            client.ask("get psu")
        client.close()


class SimProcess:
    """``python -m controlroom.devices.ogse.sim.server`` in a child, stopped by its own PID."""

    def __init__(self, *options: str) -> None:
        argv = [sys.executable, "-m", "controlroom.devices.ogse.sim.server", "--port", "0"]
        self.proc = subprocess.Popen(
            [*argv, *options], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.port = self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> int:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise AssertionError("the simulator printed no READY line in time")
        words = self.proc.stdout.readline().split()
        assert len(words) == 3 and words[0] == "READY", words
        return int(words[2])

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


@pytest.fixture
def process() -> Iterator[SimProcess]:
    child = SimProcess("--speed", "20")
    try:
        yield child
    finally:
        child.stop()


def test_sigusr1_toggles_the_interlock_of_a_running_simulator(process: SimProcess) -> None:
    client = Client(process.port)
    try:
        assert client.ask("power on") == "OK" and client.ask("operate on") == "OK"
        assert wait_until(lambda: client.ask("get lamp") == "lamp: ON", 5.0, every_s=0.02)
        process.signal(signal.SIGUSR1)
        assert wait_until(lambda: client.ask("get interlock") == "interlock: OPEN", 5.0)
        assert client.ask("get lamp") == "lamp: OFF"
        assert client.ask("get laser") == "laser: OFF"
        assert client.ask("operate on") == "ERROR: interlock is open"
        process.signal(signal.SIGUSR1)
        assert wait_until(lambda: client.ask("get interlock") == "interlock: CLOSE", 5.0)
        assert client.ask("operate on") == "OK"
    finally:
        client.close()
    assert process.stop() == 0


def test_sigusr2_breaks_the_lamp(process: SimProcess) -> None:
    client = Client(process.port)
    try:
        client.ask("power on")
        client.ask("operate on")
        assert wait_until(lambda: client.ask("get lamp") == "lamp: ON", 5.0, every_s=0.02)
        process.signal(signal.SIGUSR2)
        assert wait_until(lambda: client.ask("get lamp-fault") == "lamp-fault: ERROR", 5.0)
        assert client.ask("get lamp") == "lamp: OFF"
    finally:
        client.close()


def test_faults_and_interlock_from_the_command_line() -> None:
    child = SimProcess(
        "--interlock-open", "--disconnected", "pm2", "--disconnected", "att", "--latency", "0"
    )
    try:
        client = Client(child.port)
        assert client.ask("get interlock") == "interlock: OPEN"
        assert client.ask("pm status") == "pm1: OK, pm2: ERROR"
        assert client.ask("att status") == "att: ERROR"
        client.close()
    finally:
        assert child.stop() == 0
    child = SimProcess("--lamp-fault", "--speed", "50", "--latency", "0")
    try:
        client = Client(child.port)
        assert client.ask("power on") == "OK" and client.ask("operate on") == "OK"
        assert wait_until(lambda: client.ask("get lamp-fault") == "lamp-fault: ERROR", 5.0)
        client.close()
    finally:
        child.stop()
