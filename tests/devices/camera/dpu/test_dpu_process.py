"""The DPU processor process against the FEE simulator process: control, storage, publications.

One simulator and one processor serve the tests of this module (started
once, stopped by their handles); every test commands the same partial
readout, so none depends on which ran before it. The SIGTERM test runs its
own pair.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import h5py
import msgpack
import numpy as np
import pytest
import zmq
from dpu_process import (
    DEFAULT_ORDER,
    SEED,
    SMALL,
    SPEED,
    WAIT_S,
    Processor,
    assert_pixel_exact,
    fee_process,
    image_frames,
    last_file,
    processor_process,
    stopped,
)

from controlroom.device.spacewire import HousekeepingPacket
from controlroom.devices.camera.dpu import DpuState, SetRegister, Topic, UnknownRequest
from controlroom.devices.camera.dpu.client import ProcessorClient, RemoteDpuError
from controlroom.devices.camera.dpu.protocol import MAX_REQUEST_BYTES
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.dpu.waits import bucket_names
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.storage import FrameFileReader
from controlroom.testing.waiting import wait_until

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Camera:
    root: Path
    processor: Processor
    client: ProcessorClient


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera]:
    folder = tmp_path_factory.mktemp("dpu")
    fee = fee_process("tcp://127.0.0.1:0", folder / "fee.log", speed=SPEED, seed=SEED)
    with fee as (_, link), processor_process(link, folder / "frames", folder / "dpu.log") as dpu:
        with ProcessorClient(dpu.control) as client:
            yield Camera(folder / "frames", dpu, client)


def test_commands_go_out_in_the_next_window_and_frames_are_stored_pixel_exact(
    camera: Camera,
) -> None:
    client = camera.client
    assert client.status()["pid"] == camera.processor.pid
    assert wait_until(lambda: client.status()["synced"], WAIT_S)
    assert client.assign("obsid", "OBS_PIXELS") is None
    assert client.query("obsid") == "OBS_PIXELS"
    with DpuMonitoring(camera.processor.publish) as monitoring:
        tick = monitoring.wait_for_timecode(WAIT_S)
        assert tick is not None
        futures = [client.submit(command) for command in SMALL.commands()]
        replies = [future.result(WAIT_S) for future in futures]
    assert [(r["register"], r["value"]) for r in replies] == [
        (c.name, c.value) for c in SMALL.commands()
    ]
    assert all(r["status"] == 0 and r["error"] == "" for r in replies)
    # Sent in the command window of the period whose timecode came just before.
    assert {r["frame_counter"] % 64 for r in replies} == {tick[0]}
    frames = image_frames(camera.root, "OBS_PIXELS", 4)
    for frame in frames:
        assert_pixel_exact(frame, SMALL)
        assert frame.obsid == "OBS_PIXELS" and frame.num_cycles is not None
        read_back = DpuState().decode_housekeeping(frame.hk_readback)  # after the readout
        assert read_back.frame_counter == frame.frame_counter
        assert read_back.values["op_mode"] == FeeMode.FULL_IMAGE
    assert [f.frame_counter % 4 for f in frames] == [0, 1, 2, 3]  # one cycle, CCDs 1 to 4
    path = last_file(camera.root, "OBS_PIXELS")
    assert path is not None
    with FrameFileReader(path) as reader:
        after_window = [
            e for e in reader.entries() if e.frame_counter == replies[0]["frame_counter"] + 1
        ]
        assert reader.read(after_window[0].position).commands == replies  # stored with its frame
    assert client.query("mode") == "FULL_IMAGE"
    status = client.status()
    assert status["mode"] == "FULL_IMAGE" and status["obsid"] == "OBS_PIXELS"
    assert status["file"] == str(path) and not status["lagging"]
    assert status["housekeeping"]["op_mode"] == FeeMode.FULL_IMAGE
    assert status["counters"]["frames"] >= 4 and status["writer"]["frames_written"] >= 4
    writer = status["writer"]
    assert writer["bytes_written"] > 0 and writer["last_written_s"] >= frames[-1].received_s
    waits = status["priority_waits"]  # the assign and the first query, answered long before
    assert sum(waits[name] for name in bucket_names()) >= 2 and waits["longest_ms"] >= 0


def test_ten_commands_from_several_clients_and_threads_go_out_in_one_window(
    camera: Camera,
) -> None:
    commands = [
        *SMALL.commands(),
        SetRegister("digitise_en", 1),
        SetRegister("sync_sel", 0),
        SetRegister("int_sync_period", 6250),
        SetRegister("ccd_readout_order", DEFAULT_ORDER),
    ]
    clients = [ProcessorClient(camera.processor.control) for _ in range(3)]
    go = threading.Barrier(len(commands) + 1, timeout=WAIT_S)
    futures: dict[int, object] = {}

    def caller(index: int) -> None:
        go.wait()
        futures[index] = clients[index % len(clients)].submit(commands[index])

    try:
        threads = [threading.Thread(target=caller, args=(i,)) for i in range(len(commands))]
        with DpuMonitoring(camera.processor.publish) as monitoring:
            assert monitoring.wait_for_timecode(WAIT_S) is not None  # the window is far ahead
            for thread in threads:
                thread.start()
            go.wait()
            for thread in threads:
                thread.join(WAIT_S)
        replies = {i: future.result(WAIT_S) for i, future in futures.items()}  # type: ignore[attr-defined]
    finally:
        for client in clients:
            client.close()
    assert sorted(replies) == list(range(10))
    for index, reply in replies.items():  # each caller got the reply to its own command
        assert (reply["register"], reply["value"]) == (commands[index].name, commands[index].value)
        assert reply["status"] == 0 and reply["error"] == ""
    assert len({reply["frame_counter"] for reply in replies.values()}) == 1  # one window


def _exchange(socket: zmq.Socket[bytes], frames: list[bytes]) -> tuple[bytes, dict]:
    socket.send_multipart(frames)
    assert socket.poll(int(WAIT_S * 1000)), f"no reply to {frames!r:.80}"
    rid, body = socket.recv_multipart()
    reply = msgpack.unpackb(body, raw=False)
    return rid, reply


def _request(**body: object) -> bytes:
    return msgpack.packb(body)


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([b"r1", b"\xc1"], "the request is not msgpack"),
        ([b"r2", msgpack.packb([1, 2])], "a request is a msgpack map, not list"),
        ([b"r3", _request(kind="fly")], "unknown request kind 'fly'"),
        ([b"r4", _request(kind="command", register="v_end", value="63")], "'value' is an integer"),
        ([b"r5", _request(kind="command", register="nope", value=1)], "no register named 'nope'"),
        ([b"r6", _request(kind="command", register="op_mode", value=1)], "read-only"),
        ([b"r7", _request(kind="command", v_end=1)], "names a 'register' and a 'value'"),
        ([b"r7a", _request(kind="command", address=-4, word=0)], "'address' is 0 to 4294967295"),
        ([b"r7b", _request(kind="command", address=6, word=0)], "an aligned address"),
        ([b"r8", _request(kind="status", x=1)], "not x"),
        ([b"r9", bytes(MAX_REQUEST_BYTES + 1)], f"larger than {MAX_REQUEST_BYTES}"),
        ([b"r10", _request(kind="query", name=msgpack.ExtType(5, b"x"))], "extension type 5"),
        ([b"r11", _request(kind="query", name="nothing")], "knows no 'nothing'"),
        ([b"r12", _request(kind="assign", name="num_cycles", value="x")], "num_cycles is an int"),
        ([b"r13", _request(kind="assign", name="obsid", value="../x")], "obsid '../x'"),
        ([b"x" * 17, _request(kind="status")], "a request id is 1 to 16 bytes, not 17"),
        ([b"r15"], "a request is 2 frames"),
    ],
)
def test_a_malformed_request_gets_an_error_naming_it_and_the_processor_goes_on(
    camera: Camera, frames: list[bytes], problem: str
) -> None:
    socket = zmq.Context.instance().socket(zmq.DEALER)
    try:
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(camera.processor.control)
        rid, reply = _exchange(socket, frames)
        assert reply["ok"] is False and problem in reply["error"]["message"], reply
        assert rid == (frames[0] if len(frames) == 2 and len(frames[0]) <= 16 else b"")
        rid, reply = _exchange(socket, [b"after", msgpack.packb({"kind": "status"})])
        assert rid == b"after" and reply["ok"] and reply["result"]["pid"] == camera.processor.pid
    finally:
        socket.close(linger=0)


def test_a_refused_request_is_raised_by_the_client_as_a_dpu_error(camera: Camera) -> None:
    with pytest.raises(UnknownRequest, match="knows no 'nothing'") as raised:
        camera.client.query("nothing")
    assert isinstance(raised.value, RemoteDpuError) and raised.value.remote_type == "UnknownRequest"
    with pytest.raises(RemoteDpuError, match="RegisterAccessError: no register named 'x'"):
        camera.client.submit(SetRegister("x", 1)).result(WAIT_S)
    assert camera.client.query("speed") == SPEED


def test_monitoring_follows_consecutive_timecodes_and_the_other_topics(camera: Camera) -> None:
    with DpuMonitoring(camera.processor.publish) as monitoring:
        ticks = [monitoring.wait_for_timecode(WAIT_S) for _ in range(4)]
        hk = monitoring.next([Topic.SYNC_HK_PACKET], WAIT_S)
        register_map = monitoring.next([Topic.N_FEE_REGISTER_MAP], WAIT_S)
        flags = monitoring.next([Topic.SYNC_ERROR_FLAGS], WAIT_S)
        cycles = monitoring.next([Topic.NUM_CYCLES], WAIT_S)
    assert None not in ticks
    codes = [tick[0] for tick in ticks]  # type: ignore[index]
    assert all(b == (a + 1) % 64 for a, b in itertools.pairwise(codes)), codes
    times = [tick[1] for tick in ticks]  # type: ignore[index]
    assert times == sorted(times)
    assert hk is not None and isinstance(hk[1][0], HousekeepingPacket)  # type: ignore[index]
    assert register_map is not None and isinstance(register_map[1], np.ndarray)
    assert register_map[1].dtype == np.uint8 and register_map[1].size == 0x800
    assert flags is not None and len(flags[1]) == 3  # type: ignore[arg-type]
    assert cycles is not None and isinstance(cycles[1], int)


def test_sigterm_drains_the_writer_closes_the_file_and_exits_0(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    fee = fee_process("tcp://127.0.0.1:0", tmp_path / "fee.log", speed=SPEED, seed=SEED)
    with fee as (_, link), processor_process(link, root, tmp_path / "dpu.log") as dpu:
        with ProcessorClient(dpu.control) as client:
            client.assign("obsid", "OBS_TERM")
            for future in [client.submit(command) for command in SMALL.commands()]:
                assert future.result(WAIT_S)["status"] == 0
            image_frames(root, "OBS_TERM", 2)
        summary = stopped(dpu.child)
    written = summary["writer"]["frames_written"]
    assert summary["loop"]["frames"] == written and summary["writer"]["frames_failed"] == 0
    files = sorted(root.rglob("*.h5"))
    entries = []
    for path in files:
        with h5py.File(path, "r"):
            pass  # plain read mode refuses a file still open for writing: it was closed
        with FrameFileReader(path) as reader:
            entries += reader.entries()
            for entry in reader.entries():
                if entry.whole and (frame := reader.read(entry.position)).images:
                    assert_pixel_exact(frame, SMALL)
    assert len(entries) == written and all(entry.written for entry in entries)
    assert all(entry.whole for entry in entries[:-1])  # only a readout cut by the stop may not be


def test_a_processor_stops_by_itself_when_its_control_server_is_gone(tmp_path: Path) -> None:
    # A stand-in for the control server: a process of ours that we end below.
    parent = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=PIPE)
    fee = fee_process("tcp://127.0.0.1:0", tmp_path / "fee.log", speed=SPEED, seed=SEED)
    try:
        options = ("--parent", str(parent.pid))
        with (
            fee as (_, link),
            processor_process(
                link, tmp_path / "frames", tmp_path / "dpu.log", options=options
            ) as dpu,
        ):
            assert dpu.child.process.poll() is None
            parent.communicate(b"", timeout=WAIT_S)  # its stdin closes: it exits
            line = dpu.child.read_ready(lambda s: s if s.startswith("STOPPED ") else None, WAIT_S)
            assert line is not None, dpu.child.stderr_tail()
            assert dpu.child.process.wait(WAIT_S) == 0
            assert "control server (pid" in (tmp_path / "dpu.log").read_text()
    finally:
        parent.kill()
        parent.wait()
