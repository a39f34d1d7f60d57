"""Errors a client of the DPU processor meets: a restart, a timeout, and the processor's own.

A request the processor refused comes back with the remote error's type name
and message; :func:`reply_result` raises it as a :class:`RemoteDpuError`, which
for the processor's well-known errors is also the local class, so ``except
QueueFull`` works the same in the processor and in its client.
"""

from __future__ import annotations

from controlroom.devices.camera.dpu.commands import DpuError, ProcessorClosed, QueueFull
from controlroom.devices.camera.dpu.parameters import UnknownRequest
from controlroom.devices.camera.dpu.protocol import (
    MAX_MESSAGE_BYTES,
    MalformedReply,
    MalformedRequest,
    unpack,
)


class ProcessorRestarted(ProcessorClosed):
    """The client moved to a restarted processor: a request sent to the old one is lost."""


class ProcessorTimeout(DpuError, TimeoutError):
    """The processor did not answer within the time the caller gave it."""


class NotTheControlServer(DpuError, PermissionError):
    """A request to the processor came with another key than its control server's."""


class ProcessorUnavailable(DpuError):
    """A request could not even leave: the processor has not taken what was sent before."""


class RemoteDpuError(DpuError):
    """An error the processor replied with; ``remote_type`` is its class name there."""

    def __init__(self, message: str, remote_type: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type


class RemoteQueueFull(RemoteDpuError, QueueFull):
    pass


class RemoteProcessorClosed(RemoteDpuError, ProcessorClosed):
    pass


class RemoteUnknownRequest(RemoteDpuError, UnknownRequest):
    pass


class RemoteMalformedRequest(RemoteDpuError, MalformedRequest):
    pass


_KNOWN: dict[str, type[RemoteDpuError]] = {
    "QueueFull": RemoteQueueFull,
    "ProcessorClosed": RemoteProcessorClosed,
    "UnknownRequest": RemoteUnknownRequest,
    "MalformedRequest": RemoteMalformedRequest,
}


def remote_error(remote_type: str, message: str) -> RemoteDpuError:
    """The local exception for an error the processor replied with."""
    known = _KNOWN.get(remote_type)
    if known is not None:
        return known(message, remote_type)
    return RemoteDpuError(f"{remote_type}: {message}", remote_type)


def reply_result(body: bytes) -> object:
    """The result in a reply's body; the remote error (or MalformedReply) raised."""
    reply = unpack(body, MAX_MESSAGE_BYTES, "a reply", MalformedReply)
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise MalformedReply("a reply is a map with 'ok' true or false")
    if reply["ok"]:
        return reply.get("result")
    info = reply.get("error")
    if not isinstance(info, dict):
        raise MalformedReply("a failed reply carries an 'error' map")
    raise remote_error(str(info.get("type", "RemoteError")), str(info.get("message", "")))
