"""When each packet of a readout leaves: at the CCD's pace, or as fast as the link takes it.

A CCD is read out row by row at a fixed line time, so the real FEE sends a
full frame's packets spread over most of the readout phase (about 11 MB/s at
the instrument's 6.25 s period), not in one burst. The simulator does the
same by default: packet ``k`` of ``n`` is due ``k / n`` of the way through
the readout's span. A partial readout covers fewer rows and ends earlier (the
rows before ``v_start`` are dumped, which takes next to no time). When the
link cannot keep up (a speed so high that the span is shorter than the
link needs), every packet is already due and the readout goes at the link's
pace; ``burst`` asks for that at any speed (the throughput bench).
"""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.devices.camera.cycle import SyncTiming
from controlroom.devices.camera.geometry import ROWS, Readout

# The share of the readout phase a full-frame readout takes: the last packet
# leaves a second (at speed 1) before the command window opens, room for the
# link to drain and for a busy machine to run late without a late-readout flag.
READOUT_SHARE = 0.75


@dataclass(frozen=True)
class ReadoutPace:
    """The times the packets of one readout are due, from its pulse's start."""

    start: float  # the pulse's start, on the simulator's clock
    span: float  # seconds from the first packet to the last (0: all at once)
    packets: int

    @classmethod
    def of(cls, readout: Readout, timing: SyncTiming, start: float, *, burst: bool) -> ReadoutPace:
        packets = readout.packet_count
        if burst or packets <= 1:
            return cls(start, 0.0, max(packets, 1))
        full = timing.readout_s / timing.speed * READOUT_SHARE
        return cls(start, full * len(readout.rows) / ROWS, packets)

    def due(self, index: int) -> float:
        """When packet ``index`` (0-based) may leave."""
        return self.start + self.span * index / self.packets
