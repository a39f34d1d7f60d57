"""The baseline of bench/camera.py: raw ZeroMQ PUSH/PULL of the FEE's bytes into h5py.

As a script (a child of the bench): ``_camera_raw.py ENDPOINT SEED`` binds a
PUSH socket, prints ``READY <endpoint>`` and pushes full-frame readouts until
terminated: the timecode, the HK packet and the data packets of two pulses,
encoded by the FEE simulator's own packet maker, so the bytes and the packet
sizes are those the FEE sends. Each message is the link's two frames (flags,
packet), sent with the link's copy rule.

As a module: :func:`baseline_round` starts that child and :func:`receive`
pulls its packets, appending each readout's pixels to chunked uint16 datasets
(one per side and kind, chunks as the FrameWriter's), one flush per frame: no
checks, no index, no DPU bookkeeping, one thread. It is the floor the real
path is compared with.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import zmq

from _common import child
from controlroom.device.spacewire.crc import BytesLike
from controlroom.device.spacewire.packets import HEADER, PIXEL
from controlroom.device.spacewire.zeromq import ZERO_COPY_BYTES
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import FULL_FRAME
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import start_pulse
from controlroom.devices.camera.sim.packets import PacketMaker
from controlroom.devices.camera.sim.payloads import lay_out
from controlroom.devices.camera.sim.pixels import part_pixels

PACKET_FLAGS, TIMECODE_FLAGS = b"\x01", b"\x02"
CHUNK_PIXELS = 1 << 20  # 2 MB chunks, the FrameWriter's default; both paths use it
QUEUE_PACKETS = 2000  # as the FEE simulator's link
_KINDS = ("data", "overscan")


def readouts(seed: int, pulses: int = 2) -> list[list[tuple[bytes, BytesLike]]]:
    """The messages of ``pulses`` full-frame pulses (CCD 1, 2, ...) as the FEE sends them."""
    registers = RegisterMap.load()
    registers.set("ccd_mode_config", int(FeeMode.FULL_IMAGE))
    maker, timing = PacketMaker(), SyncTiming()
    laid = lambda part: lay_out(part_pixels(seed, part), part.readout.packet_size)  # noqa: E731
    messages = []
    for number in range(pulses):
        plan = start_pulse(registers, timing.pulse(number))
        hk = maker.housekeeping(plan, registers.read_area("housekeeping"))
        pulse: list[tuple[bytes, BytesLike]] = [
            (TIMECODE_FLAGS, bytes((plan.pulse.timecode,))),
            (PACKET_FLAGS, hk),
        ]
        pulse += [(PACKET_FLAGS, packet) for packet in maker.readout(plan, laid)]
        messages.append(pulse)
    return messages


def feed(endpoint: str, seed: int) -> None:
    """Push readouts on ``endpoint`` until terminated."""
    pulses = readouts(seed)
    socket = zmq.Context.instance().socket(zmq.PUSH)
    socket.setsockopt(zmq.SNDHWM, QUEUE_PACKETS)
    socket.setsockopt(zmq.LINGER, 0)
    socket.bind(endpoint)
    print(f"READY {socket.getsockopt(zmq.LAST_ENDPOINT).decode()}", flush=True)
    while True:
        for pulse in pulses:
            for message in pulse:
                packet = message[1]  # the link's rule: only bytes go without a copy
                copy = not isinstance(packet, bytes) or len(packet) < ZERO_COPY_BYTES
                socket.send_multipart(message, copy=copy)


@dataclass
class Received:
    frames: int = 0
    pixel_bytes: int = 0
    first_s: float = 0.0  # when the first frame was flushed
    last_s: float = 0.0  # when the last frame counted was flushed

    @property
    def mb_per_s(self) -> float:
        span = self.last_s - self.first_s
        return self.pixel_bytes / span / 1e6 if self.frames > 1 and span > 0 else 0.0


class RawFile:
    """Readout pixels appended to one chunked dataset per side and kind."""

    def __init__(self, path: Path, shapes: dict[tuple[str, str], int]) -> None:
        self.file = h5py.File(path, "w", libver="latest")
        self.sets = {
            (side, kind): self.file.create_dataset(
                f"{side}_{kind}", (0,), "<u2", maxshape=(None,), chunks=(CHUNK_PIXELS,)
            )
            for side, kind in shapes
        }
        self.pixels = {key: np.empty(size, np.uint16) for key, size in shapes.items()}
        self.filled = dict.fromkeys(shapes, 0)

    def add(self, packet: zmq.Frame | bytes) -> bool:
        """Take one packet's pixels; True if it was the readout's last."""
        buffer = packet.buffer if isinstance(packet, zmq.Frame) else packet
        bits = HEADER.unpack_from(buffer)[3]
        if bits & 3 == 2:  # housekeeping
            return False
        key = ("F" if bits & 0x40 else "E", _KINDS[bits & 3])
        pixels = np.frombuffer(buffer, PIXEL, offset=HEADER.size)
        start = self.filled[key]
        self.pixels[key][start : start + pixels.size] = pixels
        self.filled[key] = start + pixels.size
        return bool(bits & 0x80)

    def append_frame(self) -> int:
        """Append the readout gathered so far; its pixel bytes."""
        nbytes = 0
        for key, dataset in self.sets.items():
            end = dataset.shape[0]
            dataset.resize((end + self.filled[key],))
            dataset[end:] = self.pixels[key][: self.filled[key]]
            nbytes += 2 * self.filled[key]
            self.filled[key] = 0
        self.file.flush()
        return nbytes


def receive(endpoint: str, path: Path, seconds: float, shapes: dict) -> Received:
    """Pull readouts into ``path`` for ``seconds`` after the first frame is stored."""
    socket = zmq.Context.instance().socket(zmq.PULL)
    socket.setsockopt(zmq.RCVHWM, 1000)  # the link's default queue
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    raw, got = RawFile(path, shapes), Received()
    try:
        while got.frames == 0 or got.last_s - got.first_s < seconds:
            frames = socket.recv_multipart(copy=False)
            if frames[0].bytes != PACKET_FLAGS:
                continue
            packet = frames[1]
            data = packet if len(packet) >= ZERO_COPY_BYTES else packet.bytes
            if raw.add(data):
                nbytes = raw.append_frame()
                now = time.monotonic()
                if got.frames == 0:
                    got.first_s = now
                else:
                    got.pixel_bytes += nbytes
                got.frames, got.last_s = got.frames + 1, now
    finally:
        raw.file.close()
        socket.close()
    return got


def endpoint_for(transport: str, folder: Path) -> str:
    return "tcp://127.0.0.1:0" if transport == "tcp" else f"ipc://{folder}/link"


def baseline_round(transport: str, parent: str | None, seed: int, seconds: float) -> float:
    """MB/s of pixels from a feed child through PUSH/PULL into h5py, over ``seconds``."""
    readout = FULL_FRAME
    shapes = {
        (str(side), kind): rows * cols
        for side in readout.sides
        for kind, (rows, cols) in (
            ("data", readout.data_shape),
            ("overscan", readout.overscan_shape),
        )
    }
    with tempfile.TemporaryDirectory(dir=parent) as name:
        folder = Path(name)
        feeder = ("bench/_camera_raw.py", endpoint_for(transport, folder), str(seed))
        with child(*feeder) as (_, ready):
            got = receive(ready, folder / "raw.h5", seconds, shapes)
    return got.mb_per_s


if __name__ == "__main__":
    feed(sys.argv[1], int(sys.argv[2]))
