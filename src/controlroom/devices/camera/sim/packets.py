"""The FEE simulator's outgoing packets: housekeeping, and readouts.

Every FEE packet carries the next value of one sequence counter (+1 per
packet on the link, wrapping at 65536), so a receiver sees a gap when one is
lost. Packets are made one at a time as they are sent: a readout that is
abandoned (the link went down, the simulator is stopping) took no sequence
numbers for the packets it never sent. A readout is sent per CCD side, image
data then serial overscan, each part sliced into packets of at most
``packet_size`` pixel bytes (:mod:`controlroom.devices.camera.geometry`).

A data packet is a slice of its part's buffer (:mod:`.pixels`): its header
is written into the room left for it just before the packet is handed over,
and nothing else is copied. A full-frame readout is about 1260 packets of
32 KiB, so what a packet costs on its own way counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import groupby

from controlroom.device.spacewire import DPU_LOGICAL_ADDRESS, DataHeader, HousekeepingPacket
from controlroom.device.spacewire.packets import HEADER
from controlroom.devices.camera.geometry import BYTES_PER_PIXEL, PacketKind, PacketSlice, Side
from controlroom.devices.camera.sequencer import PulsePlan
from controlroom.devices.camera.sim.payloads import PartPackets
from controlroom.devices.camera.sim.pixels import Part, plan_parts

SEQUENCE_MODULO = 1 << 16

# packets_of(part): the laid-out packets of one part of a readout.
PacketSource = Callable[[Part], PartPackets]


class PacketMaker:
    """Encodes the FEE's packets for the DPU at ``logical_address``, numbering them."""

    def __init__(self, logical_address: int = DPU_LOGICAL_ADDRESS) -> None:
        self.logical_address = logical_address
        self.sequence = 0  # the sequence counter of the next packet

    def housekeeping(self, plan: PulsePlan, area: bytes) -> bytes:
        """The HK packet of a pulse, carrying the housekeeping area as it is now."""
        packet = HousekeepingPacket(
            plan.frame_counter, self._take(), area, int(plan.mode), self.logical_address
        )
        return packet.encode()

    def readout(self, plan: PulsePlan, packets_of: PacketSource) -> Iterator[memoryview]:
        """The data and overscan packets of the pulse's readout, in order, the last flagged.

        ``packets_of(part)`` gives each part's laid-out packets when its first
        packet is due; a packet is a view on that buffer.
        """
        parts = {(part.side, part.kind): part for part in plan_parts(plan)}
        if plan.readout is None or not parts:
            return
        per_packet = plan.readout.packet_size // BYTES_PER_PIXEL
        for (side, kind), pieces in groupby(plan.readout.packets(), _part_of):
            laid = packets_of(parts[side, kind])
            view = memoryview(laid.buffer)
            header = DataHeader(
                plan.frame_counter, plan.ccd, "F" if side is Side.F else "E", kind,
                int(plan.mode), self.logical_address,
            )  # fmt: skip
            for piece in pieces:
                start, nbytes = piece.start // per_packet * laid.stride, piece.nbytes
                header.pack_into(laid.buffer, start, nbytes, self._take(), piece.last)
                yield view[start : start + HEADER.size + nbytes]

    def _take(self) -> int:
        sequence = self.sequence
        self.sequence = (sequence + 1) % SEQUENCE_MODULO
        return sequence


def _part_of(piece: PacketSlice) -> tuple[Side, PacketKind]:
    return piece.side, piece.kind
