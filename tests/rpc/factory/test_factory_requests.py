"""The factory process answers what it is sent, however malformed, and keeps serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import msgpack
import pytest

from controlroom.rpc.factory.messages import MAX_MESSAGE, Message, receive, send


@pytest.fixture
def factory() -> Iterator[socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    argv = [sys.executable, "-m", "controlroom.rpc.factory", "--fd", str(theirs.fileno())]
    process = subprocess.Popen(
        [*argv, "--allow", "json", "--preload", "json"], pass_fds=[theirs.fileno()]
    )
    theirs.close()
    try:
        hello = receive(ours)
        assert hello is not None and hello.op == "ready" and hello.fields["preloaded"] == ["json"]
        yield ours
    finally:
        ours.close()  # the factory sees the end and exits
        assert process.wait(30) == 0


def answer(sock: socket.socket) -> Message:
    message = receive(sock)
    assert message is not None
    return message


def spawn_json_tool(sock: socket.socket, request: int) -> Message:
    with open(os.devnull, "wb") as sink:
        argv = [sys.executable, "-m", "json.tool", "--help"]
        send(sock, {"op": "spawn", "id": request, "argv": argv}, (sink.fileno(), sink.fileno()))
    return answer(sock)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"op": "launch", "id": 1}, "unknown request 'launch'"),
        ({"op": "spawn"}, "no id"),
        ({"op": "spawn", "id": 1, "argv": "python -m json.tool"}, "argv must be a list"),
        ({"op": "spawn", "id": 1, "argv": ["python", "-c", "print(1)"]}, "'-m'"),
        ({"op": "spawn", "id": 1, "argv": ["python", "-m", "os"]}, "'os' is not one"),
        ({"op": "spawn", "id": 1, "argv": ["python", "-m", "json.tool"]}, "two descriptors"),
    ],
)
def test_a_bad_request_is_refused_and_the_factory_serves_on(
    factory: socket.socket, fields: dict[str, object], error: str
) -> None:
    send(factory, fields)
    refused = answer(factory)
    assert refused.op == "refused" and error in refused.fields["error"]
    spawned = spawn_json_tool(factory, 7)
    assert spawned.op == "spawned" and spawned.fields["id"] == 7
    exited = answer(factory)
    assert exited.fields == {"op": "exited", "pid": spawned.fields["pid"], "code": 0}


@pytest.mark.parametrize(
    "packet", [b"", b"\xc1 not msgpack", msgpack.packb([1, 2]), b"x" * (MAX_MESSAGE + 10)]
)
def test_garbage_is_dropped_and_the_factory_serves_on(
    factory: socket.socket, packet: bytes
) -> None:
    factory.send(packet)
    spawned = spawn_json_tool(factory, 8)
    assert spawned.op == "spawned" and spawned.fields["id"] == 8
    assert answer(factory).op == "exited"
