"""What the processor publishes, as msgpack: one encoder and one checked decoder per topic.

A publication is two ZeroMQ frames: the topic's name (``SYNC_TIMECODE``, see
:class:`~.reporting.Topic`) and one msgpack map. Times are UTC seconds of
reception at the processor; packets travel as their header fields and raw
bytes, numpy arrays as ``{dtype, shape, bytes}``:

=================== ==================================================================
SYNC_TIMECODE       {timecode, received_s}
SYNC_HK_PACKET      {packet: {frame_counter, sequence_counter, mode, logical_address,
                    data}, received_s}
SYNC_DATA_PACKET    {packet: {frame_counter, sequence_counter, ccd, side, kind, last,
                    mode, logical_address, payload}, received_s}
N_FEE_REGISTER_MAP  {register_map: {dtype, shape, bytes}}
NUM_CYCLES          {num_cycles}
HDF5_FILENAMES      {files: [path, ...]}
SYNC_ERROR_FLAGS    {error_flags, frame_counter, received_s}
=================== ==================================================================

:func:`decode` gives back what the loop published (the tuples, packets and
array of :mod:`.reporting`), every field checked; anything else raises
:class:`MalformedPublication` naming what was wrong. Nothing but msgpack's
plain types is decoded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from controlroom.device.errors import ArgumentError
from controlroom.device.spacewire import DataPacket, HousekeepingPacket
from controlroom.devices.camera.dpu.commands import DpuError
from controlroom.devices.camera.dpu.protocol import pack, unpack
from controlroom.devices.camera.dpu.reporting import Topic

MAX_PUBLICATION_BYTES = 1024 * 1024
MAX_FILES = 64
_DTYPE = re.compile(r"[<>|][biuf][1248]\Z")
_MAX_DIMENSIONS = 4
_ERROR_FLAG_KEYS = ("error_flags", "frame_counter", "received_s")


class MalformedPublication(DpuError, ValueError):
    """A publication that is not what the processor sends; the message says why."""


def encode(topic: Topic, payload: Any) -> list[bytes]:
    """The frames of one publication."""
    return [topic.value.encode(), pack(_ENCODERS[topic](payload))]


def decode(frames: list[bytes]) -> tuple[Topic, object]:
    """(topic, payload as the loop published it) of one publication's frames."""
    if len(frames) != 2:
        raise MalformedPublication(f"a publication is 2 frames (topic, body), not {len(frames)}")
    try:
        topic = Topic(bytes(frames[0]).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedPublication(f"unknown topic {bytes(frames[0])[:40]!r}") from None
    body = unpack(bytes(frames[1]), MAX_PUBLICATION_BYTES, f"a {topic} body", MalformedPublication)
    if not isinstance(body, dict):
        raise MalformedPublication(f"a {topic} body is a msgpack map, not {type(body).__name__}")
    try:
        return topic, _DECODERS[topic](body)
    except MalformedPublication as error:
        raise MalformedPublication(f"{topic}: {error}") from None
    except KeyError as error:
        raise MalformedPublication(f"{topic}: the body has no {error.args[0]!r}") from None
    except (ArgumentError, TypeError, ValueError) as error:  # a packet's own checks
        raise MalformedPublication(f"{topic}: {error}") from None


def _hk_packet(packet: HousekeepingPacket) -> dict[str, Any]:
    return {
        "frame_counter": packet.frame_counter,
        "sequence_counter": packet.sequence_counter,
        "mode": packet.mode,
        "logical_address": packet.logical_address,
        "data": bytes(packet.data),
    }


def _data_packet(packet: DataPacket) -> dict[str, Any]:
    return {
        "frame_counter": packet.frame_counter,
        "sequence_counter": packet.sequence_counter,
        "ccd": packet.ccd,
        "side": packet.side,
        "kind": packet.kind,
        "last": packet.last,
        "mode": packet.mode,
        "logical_address": packet.logical_address,
        "payload": bytes(packet.payload),  # a view valid during the call only: copied here
    }


def _array(array: np.ndarray) -> dict[str, Any]:
    return {"dtype": array.dtype.str, "shape": list(array.shape), "bytes": array.tobytes()}


_ENCODERS: dict[Topic, Callable[[Any], dict[str, Any]]] = {
    Topic.SYNC_TIMECODE: lambda p: {"timecode": p[0], "received_s": p[1]},
    Topic.SYNC_HK_PACKET: lambda p: {"packet": _hk_packet(p[0]), "received_s": p[1]},
    Topic.SYNC_DATA_PACKET: lambda p: {"packet": _data_packet(p[0]), "received_s": p[1]},
    Topic.N_FEE_REGISTER_MAP: lambda p: {"register_map": _array(p)},
    Topic.NUM_CYCLES: lambda p: {"num_cycles": p},
    Topic.HDF5_FILENAMES: lambda p: {"files": [str(path) for path in p]},
    Topic.SYNC_ERROR_FLAGS: lambda p: dict(zip(_ERROR_FLAG_KEYS, p, strict=True)),
}


def _int(body: dict[str, Any], key: str, low: int = 0, high: int = 2**63 - 1) -> int:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedPublication(f"{key!r} is an integer in {low}..{high}, not {value!r}")
    return value


def _time(body: dict[str, Any]) -> float:
    value = body["received_s"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPublication(f"'received_s' is a time in seconds, not {value!r}")
    return float(value)


def _bin(body: dict[str, Any], key: str) -> bytes:
    value = body[key]
    if not isinstance(value, bytes):
        raise MalformedPublication(f"{key!r} is bytes, not {type(value).__name__}")
    return value


def _map(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body[key]
    if not isinstance(value, dict):
        raise MalformedPublication(f"{key!r} is a map, not {type(value).__name__}")
    return value


def _hk_from(body: dict[str, Any]) -> tuple[HousekeepingPacket, float]:
    p = _map(body, "packet")
    packet = HousekeepingPacket(
        _int(p, "frame_counter"), _int(p, "sequence_counter"), _bin(p, "data"),
        _int(p, "mode"), _int(p, "logical_address", 0, 255),
    )  # fmt: skip
    return packet, _time(body)


def _data_from(body: dict[str, Any]) -> tuple[DataPacket, float]:
    p = _map(body, "packet")
    if not isinstance(p["last"], bool):
        raise MalformedPublication(f"'last' is true or false, not {p['last']!r}")
    packet = DataPacket(
        _int(p, "frame_counter"), _int(p, "sequence_counter"), _int(p, "ccd"), p["side"],
        _bin(p, "payload"), p["kind"], p["last"], _int(p, "mode"),
        _int(p, "logical_address", 0, 255),
    )  # fmt: skip
    return packet, _time(body)


def _array_from(body: dict[str, Any]) -> np.ndarray:
    spec = _map(body, "register_map")
    dtype, shape, data = spec["dtype"], spec["shape"], _bin(spec, "bytes")
    if not isinstance(dtype, str) or not _DTYPE.match(dtype):
        raise MalformedPublication(f"'dtype' {dtype!r} is not a plain number type")
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_DIMENSIONS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise MalformedPublication(f"'shape' {shape!r} is not a list of sizes")
    if math.prod(shape) * np.dtype(dtype).itemsize != len(data):
        raise MalformedPublication(f"{len(data)} bytes do not make a {dtype} array of {shape}")
    return np.frombuffer(data, dtype).reshape(shape)


def _files_from(body: dict[str, Any]) -> list[str]:
    files = body["files"]
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise MalformedPublication(f"'files' is a list of at most {MAX_FILES} paths")
    if not all(isinstance(path, str) for path in files):
        raise MalformedPublication("'files' holds paths as text")
    return files


_DECODERS: dict[Topic, Callable[[dict[str, Any]], object]] = {
    Topic.SYNC_TIMECODE: lambda b: (_int(b, "timecode", 0, 63), _time(b)),
    Topic.SYNC_HK_PACKET: _hk_from,
    Topic.SYNC_DATA_PACKET: _data_from,
    Topic.N_FEE_REGISTER_MAP: _array_from,
    Topic.NUM_CYCLES: lambda b: _int(b, "num_cycles", -(2**31), 2**31 - 1),
    Topic.HDF5_FILENAMES: _files_from,
    Topic.SYNC_ERROR_FLAGS: lambda b: (
        _int(b, "error_flags", 0, 0xFFFF),
        _int(b, "frame_counter"),
        _time(b),
    ),
}
