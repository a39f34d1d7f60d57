"""The DPU side of FEE simulator tests: the simulator process and a link that reads its pulses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from controlroom.device.spacewire import (
    PACKET,
    TIMECODE,
    DataPacket,
    HousekeepingPacket,
    NoPacket,
    SpaceWireOverZeroMQ,
    classify,
)
from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import reassemble
from controlroom.devices.camera.modes import FeeMode
from controlroom.devices.camera.registers import RegisterMap
from controlroom.rpc.child import Child, module_argv

READY_S = 30.0
PACKET_S = 10.0  # longest wait for the next packet: a few periods at the speeds used
HK_AREA = 0x0700
MIRROR = RegisterMap.load()  # the layout, to decode HK packets


def parse_ready(line: str) -> str | None:
    """``READY host port`` (TCP) or ``READY endpoint`` -> the endpoint a DPU connects to."""
    parts = line.split()
    if len(parts) == 3 and parts[0] == "READY":
        return f"tcp://{parts[1]}:{parts[2]}"
    if len(parts) == 2 and parts[0] == "READY":
        return parts[1]
    return None


@contextmanager
def fee_process(
    endpoint: str, log: Path, *, speed: float, seed: int
) -> Iterator[tuple[Child, str]]:
    """The simulator in a child process; stopped by its handle at the end."""
    argv = module_argv(
        "controlroom.devices.camera.sim.server",
        *("--endpoint", endpoint, "--speed", f"{speed:g}", "--seed", str(seed)),
    )
    child = Child.spawn("FEE simulator", argv, log_path=log)
    try:
        yield child, child.wait_ready(parse_ready, READY_S)
    finally:
        child.stop()


def hk_field(hk: HousekeepingPacket, name: str) -> int:
    """A housekeeping field from an HK packet (the HK area's bytes)."""
    spec = MIRROR.field(name)
    start = spec.address - HK_AREA
    word = int.from_bytes(bytes(hk.data[start : start + 4]), "big")
    return int((word & spec.mask) >> spec.offset)


@dataclass
class ReceivedPulse:
    timecode: int
    received_s: float  # monotonic time the timecode arrived: the DPU's pulse start
    hk: HousekeepingPacket
    data: list[DataPacket] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # monotonic, one per data packet

    def pixels(self, side: str, kind: str, shape: tuple[int, int]) -> np.ndarray:
        """One part of the readout, reassembled from its packets."""
        parts = [p.pixels for p in self.data if p.side == side and p.kind == kind]
        whole: np.ndarray = reassemble(shape, parts)
        return whole


class Dpu:
    """Reads the FEE's pulses on a connected link, as the DPU processor's loop does."""

    def __init__(self, link: SpaceWireOverZeroMQ, timing: SyncTiming) -> None:
        self.link = link
        self.timing = timing

    def next_timecode(self) -> tuple[int, float]:
        """Skip to the next timecode (what came before it is from a pulse joined midway)."""
        while True:
            flags, data = self.link.read_packet(PACKET_S)
            if flags == TIMECODE:
                return data[0], time.monotonic()

    def pulse(self, timecode: int | None = None, received_s: float = 0.0) -> ReceivedPulse:
        """The next whole pulse: timecode, HK, and the readout when the FEE sends one."""
        if timecode is None:
            flags, data = self.link.read_packet(PACKET_S)
            assert flags == TIMECODE, f"expected a timecode, got packet {bytes(data[:12])!r}"
            timecode, received_s = data[0], time.monotonic()
        hk = self._packet()
        assert isinstance(hk, HousekeepingPacket), f"expected HK after the timecode, got {hk}"
        pulse = ReceivedPulse(timecode, received_s, hk)
        if hk.mode == FeeMode.FULL_IMAGE:
            while not pulse.data or not pulse.data[-1].last:
                packet = self._packet()
                assert isinstance(packet, DataPacket), f"expected image data, got {packet}"
                pulse.data.append(packet)
                pulse.arrivals.append(time.monotonic())
        return pulse

    def wait_for_window(self, pulse: ReceivedPulse) -> None:
        """Wait, reading the link, until well inside the pulse's command window."""
        opens = pulse.received_s + self.timing.readout_s / self.timing.speed
        deadline = opens + 0.1 * self.timing.command_window
        while (left := deadline - time.monotonic()) > 0:
            try:
                flags, _ = self.link.read_packet(left)
            except NoPacket:
                return
            raise AssertionError(f"nothing expected before the window, got flags {flags}")

    def _packet(self) -> object:
        flags, data = self.link.read_packet(PACKET_S)
        assert flags == PACKET, "a timecode came before the pulse was complete"
        return classify(data)
