"""Reading one sync period's packets in order: the timecode, the housekeeping, the data.

Reads are made in slices of ``poll_s`` so priority requests are answered
while the reader waits. A packet that belongs to no step being read (data
after a lost timecode, a late RMAP reply) is counted and discarded, and the
first of a run of them is logged. A timecode that arrives while a period is
still being read starts the next period: it is kept for the next
:meth:`PacketReader.timecode`, never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from controlroom.device.spacewire import (
    TIMECODE,
    DataPacket,
    HousekeepingPacket,
    NoPacket,
    Packet,
    PacketData,
    SpaceWireInterface,
)
from controlroom.devices.camera.dpu.commands import DpuError
from controlroom.devices.camera.dpu.readout import ReadoutAssembly
from controlroom.devices.camera.dpu.reporting import Clock, LoopCounters, Publish, Topic

_LOG = logging.getLogger(__name__)
HOUSEKEEPING_TIMEOUT_S = 1.0  # the FEE sends it right after the timecode
DATA_GRACE_S = 1.0  # beyond the readout phase, before a readout counts as cut short


class NoTimecode(DpuError):
    """No timecode came within the wait (not an error: the FEE may be off or restarting)."""


class PacketReader:
    """The packets of one period from ``link``; ``serve`` answers priority requests."""

    def __init__(
        self,
        link: SpaceWireInterface,
        clock: Clock,
        counters: LoopCounters,
        serve: Callable[[], None],
        poll_s: float,
    ) -> None:
        self.link = link
        self.clock = clock
        self.counters = counters
        self.serve = serve
        self.poll_s = poll_s
        self.stop = threading.Event()
        self._carried: tuple[int, float, float] | None = None
        self._unexpected_run = 0

    def timecode(self, timeout_s: float) -> tuple[int, float, float]:
        """(timecode, UTC reception time, monotonic reception time) of the next timecode."""
        if self._carried is not None:
            carried, self._carried = self._carried, None
            return carried
        deadline = time.monotonic() + timeout_s
        while (received := self._next(deadline)) is not None:
            flags, data, _ = received
            if flags == TIMECODE:
                return data[0], self.clock.time(), self.clock.monotonic()
            self._unexpected(data, "while waiting for a timecode")
        raise NoTimecode(f"no timecode within {timeout_s} s")

    def housekeeping(self, timecode: int) -> tuple[HousekeepingPacket, float]:
        """The housekeeping packet that follows ``timecode``, with its UTC reception time."""
        deadline = time.monotonic() + HOUSEKEEPING_TIMEOUT_S
        while (received := self._next(deadline)) is not None:
            flags, data, packet = received
            if flags == TIMECODE:
                self._carry(data[0])
                raise DpuError(f"timecode {data[0]} came before the housekeeping of {timecode}")
            if isinstance(packet, HousekeepingPacket):
                self._unexpected_run = 0
                return packet, self.clock.time()
            self._unexpected(data, f"while waiting for the housekeeping of timecode {timecode}")
        raise DpuError(f"no housekeeping packet within {HOUSEKEEPING_TIMEOUT_S} s of {timecode}")

    def data(self, assembly: ReadoutAssembly, readout_s: float, publish: Publish | None) -> bool:
        """Data packets into ``assembly`` up to the last; False if the next period began."""
        deadline = time.monotonic() + readout_s + DATA_GRACE_S
        while (received := self._next(deadline)) is not None:
            flags, data, packet = received
            if flags == TIMECODE:
                self._carry(data[0])
                assembly.interrupted(f"timecode {data[0]} came before the last packet")
                return False
            if not isinstance(packet, DataPacket):
                self._unexpected(data, "during a readout")
                continue
            if publish is not None:
                publish(Topic.SYNC_DATA_PACKET, (packet, self.clock.time()))
            if assembly.add(packet):
                return True
        assembly.interrupted(f"no last packet within {readout_s + DATA_GRACE_S:.2f} s")
        return True

    def early_timecode(self) -> bool:
        """Look at the link without waiting, from the command window: True if the next
        period's timecode came already (it is kept for :meth:`timecode`, its time taken now)."""
        try:
            flags, data = self.link.read_packet(timeout=0)
        except NoPacket:
            return False
        if flags == TIMECODE:
            self._carry(data[0])
            return True
        self._unexpected(data, "in the command window")
        return False

    def _next(self, deadline: float) -> tuple[int, PacketData, Packet | None] | None:
        """The next packet or timecode (flags, data, parsed packet), None once ``deadline``
        (monotonic) or a stop came."""
        while True:
            self.serve()
            left = deadline - time.monotonic()
            if left <= 0 or self.stop.is_set():
                return None
            try:
                return self.link.read_parsed(timeout=min(self.poll_s, left))
            except NoPacket:
                continue

    def _carry(self, timecode: int) -> None:
        self._carried = (timecode, self.clock.time(), self.clock.monotonic())

    def _unexpected(self, data: PacketData, when: str) -> None:
        self.counters.unexpected_packets += 1
        if self._unexpected_run == 0:
            _LOG.warning(
                "DPU processor: a packet of %d bytes (protocol %#04x) discarded %s; "
                "more are counted until the next housekeeping packet",
                len(data),
                data[1] if len(data) > 1 else -1,
                when,
            )
        self._unexpected_run += 1
