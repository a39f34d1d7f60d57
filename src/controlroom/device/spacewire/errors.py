"""Errors of the SpaceWire link: corrupt packets, timeouts, RMAP failures.

Every error here is a :class:`controlroom.device.errors.DeviceError`, so code
that handles device failures in general handles a SpaceWire link too. The
timeouts are also :class:`TimeoutError` (through ``DeviceTimeout``): a reader
loop that waits for the next timecode catches ``SpaceWireTimeout`` and goes on.
"""

from __future__ import annotations

from enum import IntEnum

from controlroom.device.errors import DeviceError, DeviceTimeout


class SpaceWireError(DeviceError):
    """Root of every error raised by the SpaceWire link, its packets and RMAP."""


class CorruptPacket(SpaceWireError, ValueError):
    """A packet that cannot be used: bad CRC, wrong length, unknown protocol, ...

    ``reason`` says what was wrong, in words a log reader can act on.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpaceWireTimeout(SpaceWireError, DeviceTimeout):
    """Something expected on the link did not come in time."""


class NoPacket(SpaceWireTimeout):
    """``read_packet`` saw no packet and no timecode within its timeout."""


class NoReply(SpaceWireTimeout):
    """The target did not answer an RMAP request within the reply timeout."""


class LinkDown(SpaceWireTimeout):
    """The peer is not connected: the link did not come up, or a send could not leave."""


class Status(IntEnum):
    """The status byte of an RMAP reply (ECSS-E-ST-50-52C, status and error codes)."""

    SUCCESS = 0
    GENERAL_ERROR = 1
    UNUSED_PACKET_TYPE_OR_COMMAND_CODE = 2
    INVALID_KEY = 3
    INVALID_DATA_CRC = 4
    EARLY_EOP = 5
    TOO_MUCH_DATA = 6
    EEP = 7
    VERIFY_BUFFER_OVERRUN = 9
    NOT_IMPLEMENTED_OR_NOT_AUTHORISED = 10
    RMW_DATA_LENGTH_ERROR = 11
    INVALID_TARGET_LOGICAL_ADDRESS = 12


class RmapError(SpaceWireError):
    """The target answered an RMAP request with an error status (``status``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PendingFull(SpaceWireError):
    """Too many packets arrived while waiting for an RMAP reply to keep them all.

    Nothing is dropped: the packets not yet read stay queued on the link for
    the next ``read_packet`` calls, and the RMAP request is abandoned (its late
    reply is counted as a stray reply). Read packets faster, or raise the limit.
    """
