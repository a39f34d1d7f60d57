"""A FEE played by a test thread: pulse by pulse as the test asks, on a virtual clock.

The FEE is the camera model (register map, sequencer, geometry, synthetic
images) on one end of a SpaceWire link; RMAP commands are answered by a
MemoryTarget over its memory, and writes go through the sequencer's
command-window check on the shared :class:`FakeClock`. Between pulses the FEE
answers RMAP; a pulse is sent when the test asks for one (``pulse``), so
the test decides exactly what the DPU loop sees.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from controlroom.device.spacewire import (
    PACKET,
    DataPacket,
    HousekeepingPacket,
    MemoryTarget,
    NoPacket,
    RmapReadRequest,
    RmapWriteRequest,
    SpaceWireOverZeroMQ,
    classify,
)
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import Readout, Side, packet_pixels
from controlroom.devices.camera.images import pixel_checksum, synthetic_image
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import PulsePlan, WriteOutcome, command_write, start_pulse

T0 = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC: pulse 0
SEED = 7
WAIT_S = 30.0  # a bound on the waits of the FEE thread, never reached when all goes well


class FakeClock:
    """Virtual seconds since pulse 0: the FEE sets each pulse's start, waits move it on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0

    def time(self) -> float:
        return T0 + self.monotonic()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Virtual time does not wait for events: the whole wait passes, as a sleep."""
        self.sleep(seconds)
        return event.is_set()

    def set(self, t: float) -> None:
        with self._lock:
            self._now = t


@dataclass
class PulseScript:
    """How the FEE sends one pulse."""

    timecode: bool = True
    corrupt: frozenset[int] = frozenset()  # data packets sent one byte short (link drops them)
    hold_after: int | None = None  # pause after this many data packets until ``release``
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def small_readout(registers: RegisterMap, mode: FeeMode = FeeMode.FULL_IMAGE) -> None:
    """64 rows x 100 columns per side, both sides, 1024-pixel packets: 16 packets a pulse."""
    for name, value in (("v_start", 0), ("v_end", 63), ("h_end", 99), ("packet_size", 2048)):
        registers.set(name, value)
    registers.set("ccd_mode_config", int(mode))
    registers.apply()


def expected_pixels(
    frame: int, ccd: int, side: Side, readout: Readout
) -> tuple[np.ndarray, np.ndarray]:
    """The image and overscan pixels the FEE sends for one side of one frame."""
    image = synthetic_image(SEED, frame, ccd, side, readout.rows, readout.columns)
    overscan = synthetic_image(SEED, frame, ccd, side, readout.rows, readout.overscan_columns)
    return image, overscan


class ScriptedFee:
    """The FEE end of ``link``; run it in a thread with :func:`running_fee`."""

    def __init__(self, link: SpaceWireOverZeroMQ, clock: FakeClock) -> None:
        self.link = link
        self.clock = clock
        self.timing = SyncTiming()
        self.registers = RegisterMap.load()
        memory = bytearray(self.registers.layout.size)
        self.target = MemoryTarget(memory, write_hook=self._write)
        self.plans: list[PulsePlan] = []
        self.outcomes: list[WriteOutcome] = []
        self.checksums: dict[tuple[int, int, str], str] = {}  # (frame, ccd, side) of the image
        self.next_pulse = 0
        self._sequence = 0
        self._scripts: queue.Queue[PulseScript] = queue.Queue()

    def pulse(self, script: PulseScript | None = None) -> PulseScript:
        """Send the next pulse as ``script`` says (after what was asked before)."""
        script = script or PulseScript()
        self._scripts.put(script)
        return script

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                script = self._scripts.get_nowait()
            except queue.Empty:
                self._answer_rmap()
                continue
            self._send_pulse(script)

    def _answer_rmap(self) -> None:
        try:
            flags, data = self.link.read_packet(timeout=0.01)
        except NoPacket:
            return
        request = classify(data) if flags == PACKET else None
        if isinstance(request, RmapReadRequest | RmapWriteRequest):
            self.target.memory[:] = self.registers.snapshot(pending=True)
            reply = self.target.answer(request)
            if reply is not None:
                self.link.write_packet(reply.encode())

    def _write(self, address: int, data: bytes) -> bool:
        outcome = command_write(self.registers, self.timing, self.clock.monotonic(), address, data)
        self.outcomes.append(outcome)
        return outcome is WriteOutcome.ACCEPTED

    def _send_pulse(self, script: PulseScript) -> None:
        pulse = self.timing.pulse(self.next_pulse)
        self.next_pulse += 1
        plan = start_pulse(self.registers, pulse)
        self.plans.append(plan)
        self.clock.set(pulse.start_s)
        if script.timecode:
            self.link.send_timecode(pulse.timecode)
        hk = self.registers.read_area("housekeeping")
        self._send(
            HousekeepingPacket(plan.frame_counter, self._next(), hk, int(plan.mode)).encode()
        )
        if plan.readout is not None:
            self._send_readout(plan, script)

    def _send_readout(self, plan: PulsePlan, script: PulseScript) -> None:
        assert plan.readout is not None
        pixels: dict[tuple[str, Side], np.ndarray] = {}
        for side in plan.readout.sides:
            image, overscan = expected_pixels(plan.frame_counter, plan.ccd, side, plan.readout)
            pixels["data", side], pixels["overscan", side] = image, overscan
            self.checksums[plan.frame_counter, plan.ccd, str(side)] = pixel_checksum(image)
        for index, piece in enumerate(plan.readout.packets()):
            if index == script.hold_after:
                script.held.set()
                assert script.release.wait(WAIT_S), "the test never released the FEE"
            packet = DataPacket.from_pixels(
                packet_pixels(pixels[piece.kind, piece.side], piece),
                frame_counter=plan.frame_counter, sequence_counter=self._next(), ccd=plan.ccd,
                side="E" if piece.side is Side.E else "F", kind=piece.kind, last=piece.last,
                mode=int(plan.mode),
            )  # fmt: skip
            encoded = packet.encode()
            self._send(encoded[:-1] if index in script.corrupt else encoded)

    def _send(self, data: bytes) -> None:
        self.link.write_packet(data)

    def _next(self) -> int:
        self._sequence = (self._sequence + 1) & 0xFFFF
        return self._sequence


@contextmanager
def fee_and_link(folder: Path) -> Iterator[tuple[ScriptedFee, SpaceWireOverZeroMQ, FakeClock]]:
    """(fee, the DPU's link, clock): an ipc link pair under ``folder``, the FEE in a thread."""
    endpoint = f"ipc://{folder}/spw"
    assert len(endpoint) < 100, f"ipc path too long for a socket: {endpoint}"
    clock = FakeClock()
    with SpaceWireOverZeroMQ(endpoint, bind=True, link_timeout_s=WAIT_S) as fee_link:
        with SpaceWireOverZeroMQ(endpoint, bind=False, link_timeout_s=WAIT_S) as dpu_link:
            dpu_link.configure()
            fee_link.configure()
            fee = ScriptedFee(fee_link, clock)
            stop = threading.Event()
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    fee.run(stop)
                except BaseException as error:  # reported in the test's thread below
                    errors.append(error)

            thread = threading.Thread(target=run, name="scripted-fee", daemon=True)
            thread.start()
            try:
                yield fee, dpu_link, clock
            finally:
                stop.set()
                thread.join(WAIT_S)
            assert not thread.is_alive(), "the FEE thread did not stop"
            if errors:
                raise errors[0]
