"""Errors of the DPU control server: a processor that is down, a write the FEE refused, no image.

Each is a :class:`~controlroom.device.DeviceError`, so a caller of the
control server gets it back as a failure naming its type, and a proxy raises
it as a ``RemoteError`` with the same message.
"""

from __future__ import annotations

from controlroom.device.errors import DeviceError


class DpuControlError(DeviceError):
    """Root of the errors the DPU controller raises itself."""


class ProcessorDown(DpuControlError):
    """The DPU processor is not running now (restarting, or given up on): nothing was sent."""


class ProcessorStartError(DpuControlError):
    """The DPU processor could not be started (it exited or stayed silent before its ready line)."""


class CommandRejected(DpuControlError):
    """The FEE refused a register write (RMAP error status), or it could not be sent.

    ``records`` are the reply records of the command (all of them for a
    command of several writes), so a caller sees which write failed and why.
    """

    def __init__(self, message: str, records: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.records = records


class NotHeardYet(DpuControlError):
    """The processor has no housekeeping from the FEE yet: mode and frame counter are unknown."""


class NoImage(DpuControlError):
    """No stored frame holds the requested CCD side (yet)."""
