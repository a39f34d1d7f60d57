"""The DPU control server's device: the camera's commands over a supervised DPU processor.

- :mod:`.controller`: :class:`DpuController`, the interface the control server
  serves (Settings device entry ``dpu``);
- :mod:`.processor`: the processor as the controller reaches it, set up again after a restart;
- :mod:`.supervisor`: the processor process, restarted with backoff when it exits (:mod:`.runs`);
- :mod:`.replies`: the futures FEE commands return, their records checked;
- :mod:`.readings`: status and housekeeping; :mod:`.images`: the latest stored image;
- :mod:`.fee`: register and mode names, readout geometry; :mod:`.options`: the options.
"""

from controlroom.devices.camera.control.controller import DpuController
from controlroom.devices.camera.control.errors import (
    CommandRejected,
    DpuControlError,
    NoImage,
    NotHeardYet,
    ProcessorDown,
    ProcessorStartError,
)

__all__ = [
    "CommandRejected",
    "DpuControlError",
    "DpuController",
    "NoImage",
    "NotHeardYet",
    "ProcessorDown",
    "ProcessorStartError",
]
