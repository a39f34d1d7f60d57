"""The DPU processor: it reads the camera FEE over SpaceWire, stores frames, sends commands.

- :mod:`.commands`: the command queue (RMAP writes sent in the command window,
  each caller waiting on its own future) and the priority queue (answered by
  the processor itself; :mod:`.waits` counts how long its requests waited);
- :mod:`.state`: the mirror of the FEE (register map, mode, frame counter,
  error flags) and ``num_cycles``; :mod:`.parameters`: the priority requests;
  :mod:`.mirror`: the mirror as the loop last published it, from which the
  control endpoint answers queries without waiting for the loop;
- :mod:`.loop`: the inner loop, one sync period per ``run_once``, over
  :mod:`.reader` (packets in order), :mod:`.readout` (frame assembly) and
  :mod:`.window` (the command window); :mod:`.reporting`: topics, counters,
  error reporting and the clock;
- :mod:`.process`: the processor as a process of its own (``python -m
  controlroom.devices.camera.dpu.process``), with its control endpoint
  (:mod:`.endpoint`, :mod:`.protocol`; :class:`ProcessorClient` talks to it),
  its status (:mod:`.status`) and its publications (:mod:`.publishing`,
  :mod:`.publications`; :class:`DpuMonitoring` follows them).
"""

from controlroom.devices.camera.dpu.client import ProcessorClient
from controlroom.devices.camera.dpu.commands import (
    Assign,
    Command,
    CommandQueue,
    CommandReply,
    DpuError,
    PriorityQueue,
    ProcessorClosed,
    Query,
    QueueFull,
    SetRegister,
    WriteWord,
)
from controlroom.devices.camera.dpu.errors import (
    ProcessorRestarted,
    ProcessorTimeout,
    RemoteDpuError,
)
from controlroom.devices.camera.dpu.loop import CycleReport, DpuLoop
from controlroom.devices.camera.dpu.parameters import DpuParameters, UnknownRequest
from controlroom.devices.camera.dpu.publishing import DpuMonitoring
from controlroom.devices.camera.dpu.reader import NoTimecode
from controlroom.devices.camera.dpu.readout import ReadoutIncomplete
from controlroom.devices.camera.dpu.reporting import (
    Clock,
    FrameSink,
    LoopCounters,
    Publish,
    SystemClock,
    Topic,
)
from controlroom.devices.camera.dpu.state import DpuState, MirrorOutOfStep

__all__ = [
    "Assign",
    "Clock",
    "Command",
    "CommandQueue",
    "CommandReply",
    "CycleReport",
    "DpuError",
    "DpuLoop",
    "DpuMonitoring",
    "DpuParameters",
    "DpuState",
    "FrameSink",
    "LoopCounters",
    "MirrorOutOfStep",
    "NoTimecode",
    "PriorityQueue",
    "ProcessorClient",
    "ProcessorClosed",
    "ProcessorRestarted",
    "ProcessorTimeout",
    "Publish",
    "Query",
    "QueueFull",
    "ReadoutIncomplete",
    "RemoteDpuError",
    "SetRegister",
    "SystemClock",
    "Topic",
    "UnknownRequest",
    "WriteWord",
]
