"""The FEE simulator: a camera front end that streams over SpaceWire and answers RMAP.

- :mod:`.fee`: the sync cycle in real time (scaled by a speed factor);
- :mod:`.commands`: the DPU's RMAP commands, answered from the register map;
- :mod:`.pixels`: what a pulse reads out, laid out as packets, computed a pulse ahead;
- :mod:`.payloads`: pixels laid out packet after packet in one buffer, buffers reused;
- :mod:`.packets`: the HK and image packets, numbered as they are sent;
- :mod:`.presence`: whether a DPU is on the link, a fresh start after one left;
- :mod:`.server`: the process (``python -m controlroom.devices.camera.sim.server``,
  or ``controlroom sim start fee``).
"""

from controlroom.devices.camera.sim.commands import (
    FEE_KEY,
    FEE_LOGICAL_ADDRESS,
    CommandCounters,
    CommandPort,
)
from controlroom.devices.camera.sim.fee import FeeSimulator, PulseCounters
from controlroom.devices.camera.sim.packets import PacketMaker
from controlroom.devices.camera.sim.payloads import PartPackets, lay_out
from controlroom.devices.camera.sim.pixels import Part, PixelPipeline, part_pixels
from controlroom.devices.camera.sim.presence import DpuPresence

__all__ = [
    "FEE_KEY",
    "FEE_LOGICAL_ADDRESS",
    "CommandCounters",
    "CommandPort",
    "DpuPresence",
    "FeeSimulator",
    "PacketMaker",
    "Part",
    "PartPackets",
    "PixelPipeline",
    "PulseCounters",
    "lay_out",
    "part_pixels",
]
