"""The TCP line-simulator base: serving, robustness, clean shutdown, run_simulator."""

from __future__ import annotations

import io
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from controlroom.device.simkit.server import MAX_LINE_BYTES, LineSimulator, run_simulator

TIMEOUT_S = 5.0
READY_TIMEOUT_S = 30.0


class EchoSimulator(LineSimulator):
    """Upper-cases each line; ``SILENT`` gets no reply and ``BOOM`` raises."""

    def __init__(self, *, terminator: str = "\n", encoding: str = "ascii") -> None:
        super().__init__(terminator=terminator, encoding=encoding)
        self.seen: list[str] = []

    def handle_line(self, line: str) -> str | None:
        self.seen.append(line)
        if line == "BOOM":
            raise RuntimeError("simulated handler bug")
        return None if line == "SILENT" else line.upper()


@pytest.fixture
def sim() -> Iterator[EchoSimulator]:
    simulator = EchoSimulator()
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


class Client:
    """A raw socket that reads whole reply lines."""

    def __init__(self, port: int, terminator: bytes = b"\n") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.terminator = terminator
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readline(self) -> str:
        while self.terminator not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(self.terminator)
        return line.decode()

    def ask(self, line: str) -> str:
        self.send(line.encode() + b"\n")
        return self.readline()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def client(sim: EchoSimulator) -> Iterator[Client]:
    c = Client(sim.port)
    try:
        yield c
    finally:
        c.close()


def test_start_binds_a_free_port_and_replies(sim: EchoSimulator, client: Client) -> None:
    assert sim.port > 0
    assert sim.host == "127.0.0.1"
    assert client.ask("hello") == "HELLO"


def test_crlf_and_lf_lines_are_both_stripped(sim: EchoSimulator, client: Client) -> None:
    client.send(b"one\r\ntwo\n")
    assert [client.readline(), client.readline()] == ["ONE", "TWO"]
    assert sim.seen == ["one", "two"]


def test_lines_split_across_packets_are_reassembled(client: Client) -> None:
    client.send(b"par")
    client.send(b"tial\n")
    assert client.readline() == "PARTIAL"


def test_no_reply_for_none_and_empty_lines_are_ignored(sim: EchoSimulator, client: Client) -> None:
    client.send(b"SILENT\n\n\r\nnext\n")
    assert client.readline() == "NEXT"
    assert sim.seen == ["SILENT", "next"]


def test_several_clients_are_served_at_once(sim: EchoSimulator) -> None:
    clients = [Client(sim.port) for _ in range(3)]
    try:
        for i, c in enumerate(clients):
            c.send(f"from {i}\n".encode())
        assert [c.readline() for c in reversed(clients)] == ["FROM 2", "FROM 1", "FROM 0"]
    finally:
        for c in clients:
            c.close()


def test_abrupt_disconnect_does_not_hurt_others(sim: EchoSimulator, client: Client) -> None:
    rude = Client(sim.port)
    rude.send(b"half a line")
    # SO_LINGER 0 makes close() send a reset instead of an orderly FIN.
    rude.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()
    assert client.ask("still there") == "STILL THERE"
    late = Client(sim.port)
    try:
        assert late.ask("new") == "NEW"
    finally:
        late.close()


def test_undecodable_bytes_are_ignored(sim: EchoSimulator, client: Client) -> None:
    client.send(b"\xff\xfe\x80garbage\n")
    assert client.ask("ok") == "OK"
    assert sim.seen == ["ok"]


def test_over_long_lines_are_ignored(sim: EchoSimulator, client: Client) -> None:
    client.send(b"x" * (3 * MAX_LINE_BYTES) + b"\n")
    client.send(b"y" * (MAX_LINE_BYTES + 1) + b"\n")
    assert client.ask("after") == "AFTER"
    assert sim.seen == ["after"]


def test_a_line_at_the_limit_is_accepted(client: Client) -> None:
    assert client.ask("z" * MAX_LINE_BYTES) == "Z" * MAX_LINE_BYTES


def test_a_failing_handler_does_not_kill_the_server(client: Client) -> None:
    client.send(b"BOOM\n")
    assert client.ask("alive") == "ALIVE"


def test_reply_terminator_and_encoding_are_configurable() -> None:
    with EchoSimulator(terminator="\r\n", encoding="utf-8") as sim:
        c = Client(sim.port, terminator=b"\r\n")
        try:
            assert c.ask("grüß") == "GRÜSS"
        finally:
            c.close()


def test_stop_closes_clients_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    sim = EchoSimulator()
    sim.start()
    clients = [Client(sim.port) for _ in range(2)]
    # Once answered, a client has its own serving thread (not just a kernel backlog slot).
    assert [c.ask("ready") for c in clients] == ["READY", "READY"]
    sim.stop()
    try:
        for c in clients:
            assert c.sock.recv(16) == b""  # orderly end of stream
        assert set(threading.enumerate()) - before == set()
        with pytest.raises(OSError):
            Client(sim.port)
    finally:
        for c in clients:
            c.close()


def test_stop_is_idempotent_and_harmless_before_start() -> None:
    sim = EchoSimulator()
    sim.stop()
    sim.start()
    sim.stop()
    sim.stop()
    assert not sim.is_running


def test_context_manager_starts_and_stops() -> None:
    with EchoSimulator() as sim:
        assert sim.is_running
        c = Client(sim.port)
        try:
            assert c.ask("ctx") == "CTX"
        finally:
            c.close()
    assert not sim.is_running


def test_handle_line_needs_no_socket() -> None:
    assert EchoSimulator().handle_line("direct") == "DIRECT"


def test_base_handle_line_must_be_overridden() -> None:
    with pytest.raises(NotImplementedError):
        LineSimulator().handle_line("x")


class _SignalOnFlush(io.StringIO):
    """A ready stream that sends SIGTERM to this process once READY is flushed."""

    def flush(self) -> None:
        super().flush()
        if self.getvalue():
            os.kill(os.getpid(), signal.SIGTERM)


def test_run_simulator_prints_ready_and_stops_on_sigterm() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    sim = EchoSimulator()
    stream = _SignalOnFlush()
    run_simulator(sim, ready_stream=stream)
    assert stream.getvalue() == f"READY 127.0.0.1 {sim.port}\n"
    assert not sim.is_running
    assert signal.getsignal(signal.SIGTERM) is previous


def _read_ready_line(proc: subprocess.Popen[str]) -> str:
    """Wait (bounded, no sleeping) for the child's first stdout line."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=READY_TIMEOUT_S):
            raise TimeoutError("simulator did not print READY")
    return proc.stdout.readline()


@pytest.mark.integration
def test_tempctl_simulator_process_serves_and_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "controlroom.devices.tempctl.sim.server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        word, host, port = _read_ready_line(proc).split()
        assert (word, host) == ("READY", "127.0.0.1")
        c = Client(int(port), terminator=b"\r\n")
        try:
            assert c.ask("*IDN?").startswith("LSCI,MODEL336,")
        finally:
            c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
