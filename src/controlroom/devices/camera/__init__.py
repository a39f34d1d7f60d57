"""The camera: its front-end electronics (an N-FEE like FEE) as a model, simulator, storage.

- :mod:`.registers` / ``registers.yaml``: the register map (configuration
  written by RMAP and loaded on the long pulse; housekeeping kept by the FEE);
- :mod:`.modes`: operating modes, error flags, what each mode sends per pulse;
- :mod:`.geometry`: CCD sizes, partial readout, slicing a readout into packets;
- :mod:`.images`: deterministic synthetic images and a pixel checksum;
- :mod:`.cycle`: the sync cycle over time (pulses, timecodes, command window,
  CCD readout order, the DPU's ``num_cycles`` count);
- :mod:`.sequencer`: what the FEE does on a pulse and on an RMAP write;
- :mod:`.sim`: the FEE simulator process, which runs this model in real time
  on a SpaceWire link (``controlroom sim start fee``);
- :mod:`.storage`: frames in HDF5, FITS cubes made from them.

Outside :mod:`.sim` and :mod:`.storage` nothing here opens a socket, starts
a thread or reads a clock: the FEE simulator and the DPU processor build on it.
"""

from controlroom.devices.camera.cycle import Pulse, PulseKind, SyncTiming, count_cycle, readout_ccd
from controlroom.devices.camera.errors import (
    FeeError,
    ReadoutError,
    RegisterAccessError,
    RegisterMapError,
    TimingError,
)
from controlroom.devices.camera.geometry import FULL_FRAME, PacketSlice, Readout, Side
from controlroom.devices.camera.images import pattern_image, pixel_checksum, synthetic_image
from controlroom.devices.camera.modes import ErrorFlag, FeeMode, PulseContent, pulse_content
from controlroom.devices.camera.registers import RegisterMap
from controlroom.devices.camera.sequencer import (
    PulsePlan,
    WriteOutcome,
    command_write,
    start_pulse,
)

__all__ = [
    "FULL_FRAME",
    "ErrorFlag",
    "FeeError",
    "FeeMode",
    "PacketSlice",
    "Pulse",
    "PulseContent",
    "PulseKind",
    "PulsePlan",
    "Readout",
    "ReadoutError",
    "RegisterAccessError",
    "RegisterMap",
    "RegisterMapError",
    "Side",
    "SyncTiming",
    "TimingError",
    "WriteOutcome",
    "command_write",
    "count_cycle",
    "pattern_image",
    "pixel_checksum",
    "pulse_content",
    "readout_ccd",
    "start_pulse",
    "synthetic_image",
]
