"""SpaceWire: the link to a camera's front-end electronics (FEE), its RMAP and its packets.

``SpaceWireInterface`` is what the DPU processor and the FEE simulator use;
``SpaceWireOverZeroMQ`` carries it over one ZeroMQ PAIR connection (tcp or
ipc). ``classify`` turns a packet into an RMAP command or reply, a
housekeeping packet or a data packet, and raises CorruptPacket for anything
else. ``MemoryTarget`` answers RMAP from a memory map (the simulated FEE).
"""

from controlroom.device.spacewire.counters import LinkCounters
from controlroom.device.spacewire.crc import rmap_crc8
from controlroom.device.spacewire.errors import (
    CorruptPacket,
    LinkDown,
    NoPacket,
    NoReply,
    PendingFull,
    RmapError,
    SpaceWireError,
    SpaceWireTimeout,
    Status,
)
from controlroom.device.spacewire.interface import InterfaceOptions, SpaceWireInterface
from controlroom.device.spacewire.link import PACKET, TIMECODE, PacketData
from controlroom.device.spacewire.packets import (
    DPU_LOGICAL_ADDRESS,
    FEE_PROTOCOL_ID,
    DataHeader,
    DataPacket,
    FeePacket,
    HousekeepingPacket,
    Packet,
    check_fee,
    classify,
    parse_fee,
)
from controlroom.device.spacewire.rmap import (
    RMAP_PROTOCOL_ID,
    RmapPacket,
    RmapReadReply,
    RmapReadRequest,
    RmapWriteReply,
    RmapWriteRequest,
    parse_rmap,
)
from controlroom.device.spacewire.target import MemoryTarget, TargetCounters, WriteHook
from controlroom.device.spacewire.zeromq import SpaceWireOverZeroMQ

__all__ = [
    "DPU_LOGICAL_ADDRESS",
    "FEE_PROTOCOL_ID",
    "PACKET",
    "RMAP_PROTOCOL_ID",
    "TIMECODE",
    "CorruptPacket",
    "DataHeader",
    "DataPacket",
    "FeePacket",
    "HousekeepingPacket",
    "InterfaceOptions",
    "LinkCounters",
    "LinkDown",
    "MemoryTarget",
    "NoPacket",
    "NoReply",
    "Packet",
    "PacketData",
    "PendingFull",
    "RmapError",
    "RmapPacket",
    "RmapReadReply",
    "RmapReadRequest",
    "RmapWriteReply",
    "RmapWriteRequest",
    "SpaceWireError",
    "SpaceWireInterface",
    "SpaceWireOverZeroMQ",
    "SpaceWireTimeout",
    "Status",
    "TargetCounters",
    "WriteHook",
    "check_fee",
    "classify",
    "parse_fee",
    "parse_rmap",
    "rmap_crc8",
]
