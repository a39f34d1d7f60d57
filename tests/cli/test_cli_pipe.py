"""``controlroom pipe run`` as its own process, used by a raw socket client like a shell's nc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from controlroom.device.serving import DeviceService
from controlroom.devices.dummy import DummySensor
from controlroom.rpc import ControlServer
from controlroom.rpc.process import parse_ready_line
from controlroom.testing.ports import free_tcp_port

TOKEN = "pipe-test-token"


def _free_endpoint() -> str:
    return f"tcp://127.0.0.1:{free_tcp_port()}"


@pytest.fixture
def dummy() -> Iterator[ControlServer]:
    server = ControlServer("dummy", DeviceService(DummySensor()), hk_period_s=10.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pipe_settings(tmp_path: Path, dummy: ControlServer) -> Path:
    """Settings that route `dummy` to the in-process server; services on unused ports."""
    settings = {
        "services": {
            "registry": {"commands": _free_endpoint(), "publish": _free_endpoint()},
            "logman": {"records": _free_endpoint()},
        },
        "locations": {"state": str(tmp_path / "state"), "data": str(tmp_path / "data")},
        "devices": {"dummy": {"commands": dummy.endpoint, "publish": dummy.pub_endpoint}},
        "bridges": {"pipe": {"token": TOKEN, "allow": {"dummy": ["get_offset", "set_offset"]}}},
    }
    path = tmp_path / "pipe-settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _ask(sock: socket.socket, lines: list[str]) -> list[str]:
    sock.sendall("".join(f"{line}\n" for line in lines).encode())
    received = b""
    while received.count(b"\n") < len(lines):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.decode().splitlines()


@pytest.fixture
def pipe_process(
    pipe_settings: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`controlroom pipe run --port 0`, its stderr (the log) in a file; killed if left running."""
    argv = [sys.executable, "-m", "controlroom.cli.main", "--settings", str(pipe_settings)]
    log = tmp_path / "pipe.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*argv, "pipe", "run", "--port", "0"], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_pipe_run_serves_raw_socket_clients_until_sigterm(
    pipe_process: tuple[subprocess.Popen[str], Path],
) -> None:
    process, log = pipe_process
    assert process.stdout is not None
    ready = parse_ready_line(process.stdout.readline())  # blocks until the ready line
    assert ready is not None, log.read_text()
    assert ready["name"] == "pipe"
    host, _, port = ready["url"].removeprefix("tcp://").rpartition(":")
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=10.0) as sock:
        replies = _ask(
            sock,
            [
                "dummy|get_offset",
                f"TOKEN {TOKEN}",
                "dummy|set_offset 2.5",
                "dummy|get_offset",
                "dummy|read_value",
            ],
        )
    assert replies == [
        "ERR unauthorised: send TOKEN <token> first",
        "OK authorised",
        "OK",
        "OK 2.5",
        "ERR command 'read_value' is not allowed for dummy (allowed: get_offset, set_offset)",
    ]
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(10.0) == 0
    text = log.read_text()
    assert "dummy|set_offset 2.5 -> OK" in text  # every request is logged: who, what, outcome
    assert TOKEN not in text


def test_pipe_run_refuses_an_open_address_without_token(pipe_settings: Path) -> None:
    settings = yaml.safe_load(pipe_settings.read_text())
    settings["bridges"]["pipe"]["token"] = ""
    pipe_settings.write_text(yaml.safe_dump(settings))
    argv = [sys.executable, "-m", "controlroom.cli.main", "--settings", str(pipe_settings)]
    done = subprocess.run(
        [*argv, "pipe", "run", "--host", "0.0.0.0", "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60.0,
    )
    assert done.returncode == 1
    assert "set a token to listen on 0.0.0.0" in done.stderr
    assert "READY" not in done.stdout
