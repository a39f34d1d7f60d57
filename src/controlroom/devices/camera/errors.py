"""Errors of the camera front-end model: one root, then what went wrong where."""

from __future__ import annotations

from controlroom.device.errors import DeviceError


class FeeError(DeviceError):
    """Root of every error raised by the front-end electronics (FEE) model."""


class RegisterMapError(FeeError, ValueError):
    """A register map description is inconsistent; the message names the register."""


class RegisterAccessError(FeeError, ValueError):
    """A register was read or written in a way the FEE does not allow."""


class ReadoutError(FeeError, ValueError):
    """The register map asks for a readout the CCDs cannot do (names the register)."""


class TimingError(FeeError, ValueError):
    """A sync-cycle setting or a time outside the cycle model."""
