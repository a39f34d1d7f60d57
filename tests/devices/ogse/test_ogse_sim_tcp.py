"""The OGSE simulator over real TCP: one client at a time, signals, command-line faults."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from controlroom.devices.ogse.sim.server import OGSESimulator
from controlroom.testing.simulators import LineClient, SimulatorProcess
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def served() -> Iterator[OGSESimulator]:
    with OGSESimulator(port=0, latency=0) as sim:
        yield sim


def test_a_second_client_waits_until_the_first_leaves(served: OGSESimulator) -> None:
    first = LineClient(served.port)
    assert first.ask("get power") == "power: OFF"
    second = LineClient(served.port, timeout=0.3)  # the connect succeeds: queued in the backlog
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
    first = LineClient(served.port)
    assert first.ask("get lamp") == "lamp: OFF"
    waiting = LineClient(served.port)
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
    holder, waiting = LineClient(sim.port), LineClient(sim.port)
    assert holder.ask("get psu") == "psu: OFF"
    sim.stop()
    for client in (holder, waiting):
        client.sock.settimeout(5.0)
        with pytest.raises((ConnectionError, OSError)):
            client.ask("get psu")
        client.close()


SERVER = "controlroom.devices.ogse.sim.server"


@pytest.fixture
def process() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(SERVER, "--speed", "20") as child:
        yield child


def test_sigusr1_toggles_the_interlock_of_a_running_simulator(process: SimulatorProcess) -> None:
    with LineClient(process.port) as client:
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
    process.stop()
    assert process.returncode == 0


def test_sigusr2_breaks_the_lamp(process: SimulatorProcess) -> None:
    with LineClient(process.port) as client:
        client.ask("power on")
        client.ask("operate on")
        assert wait_until(lambda: client.ask("get lamp") == "lamp: ON", 5.0, every_s=0.02)
        process.signal(signal.SIGUSR2)
        assert wait_until(lambda: client.ask("get lamp-fault") == "lamp-fault: ERROR", 5.0)
        assert client.ask("get lamp") == "lamp: OFF"


def test_faults_and_interlock_from_the_command_line() -> None:
    faults = ("--interlock-open", "--disconnected", "pm2", "--disconnected", "att")
    with (
        SimulatorProcess(SERVER, *faults, "--latency", "0") as child,
        LineClient(child.port) as client,
    ):
        assert client.ask("get interlock") == "interlock: OPEN"
        assert client.ask("pm status") == "pm1: OK, pm2: ERROR"
        assert client.ask("att status") == "att: ERROR"
    assert child.returncode == 0
    with (
        SimulatorProcess(SERVER, "--lamp-fault", "--speed", "50", "--latency", "0") as child,
        LineClient(child.port) as client,
    ):
        assert client.ask("power on") == "OK" and client.ask("operate on") == "OK"
        assert wait_until(lambda: client.ask("get lamp-fault") == "lamp-fault: ERROR", 5.0)
