"""Frames over a stream socket to the writer process: a msgpack header, then the pixels as they are.

A message is a 4-byte length, a msgpack map, then (for a frame) the raw
little-endian uint16 pixels of every CCD side the map lists, in its order:
the pixels are never encoded, and ``socket.sendall`` / ``recv_into`` move
them without holding the GIL. A frame whose pixels went into a shared slot
(:mod:`.pixelslots`) names the slot instead, and no pixels follow. Only
plain data is decoded (nothing is unpickled), and the sizes are bounded
before anything is allocated; the frame is checked again when it is built on
the receiving side. Replies go back the same way, a map with no pixels.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

import msgpack
import numpy as np

from controlroom.devices.camera.storage.frames import (
    MAX_COLS,
    MAX_ROWS,
    SLOTS,
    CameraStorageError,
    Frame,
    FrameBegun,
    commands_json,
)
from controlroom.devices.camera.storage.pixelslots import PixelSlots

LENGTH = struct.Struct("<I")
MAX_HEADER_BYTES = 8 * 1024 * 1024  # a register map and commands at their bounds fit
PIXEL = np.dtype("<u2")
STOP = "stop"  # what the parent sends when every frame is written
START = ("obsid", "frame_counter", "timecode", "received_s", "hk")  # a frame's and its start's


class WireError(CameraStorageError):
    """The stream to or from the writer process broke or carried something it should not."""


def send_item(
    sock: socket.socket,
    item: Frame | FrameBegun | str,
    *,
    slots: PixelSlots | None = None,
    slot: int | None = None,
) -> None:
    """Send a frame, a frame's start or STOP; a frame's pixels through ``slot`` if given."""
    if isinstance(item, str):
        _send_map(sock, {"kind": item})
        return
    header: dict[str, Any] = {
        "kind": "begin" if isinstance(item, FrameBegun) else "frame",
        "obsid": item.obsid,
        "frame_counter": int(item.frame_counter),
        "timecode": int(item.timecode),
        "received_s": float(item.received_s),
        "hk": item.hk,
    }
    if isinstance(item, FrameBegun):
        _send_map(sock, header)
        return
    pixels = [
        (kind, key, np.ascontiguousarray(sides[key], dtype=PIXEL))
        for kind, sides, key in _pixel_order(item)
    ]
    header |= {
        "register_map": item.register_map.tobytes(),
        "commands": commands_json(item.commands),
        "complete": item.complete,
        "hk_readback": item.hk_readback,
        "num_cycles": item.num_cycles,
        "pixels": [[kind, ccd, side, *array.shape] for kind, (ccd, side), array in pixels],
    }
    if slots is not None and slot is not None:
        slots.place(slot, [array for _, _, array in pixels])
        _send_map(sock, header | {"slot": slot})
        return
    _send_map(sock, header)
    for _, _, array in pixels:
        sock.sendall(array.reshape(-1).view(np.uint8).data)


def pixel_arrays(frame: Frame) -> list[np.ndarray]:
    """A frame's pixel arrays in the order they travel (and lie in a slot)."""
    return [sides[key] for _, sides, key in _pixel_order(frame)]


Sides = dict[tuple[int, str], np.ndarray]


def _pixel_order(frame: Frame) -> list[tuple[str, Sides, tuple[int, str]]]:
    return [
        (kind, sides, key)
        for kind, sides in (("images", frame.images), ("overscan", frame.overscan))
        for key in SLOTS
        if key in sides
    ]


def receive_item(sock: socket.socket, slots: PixelSlots | None = None) -> Frame | FrameBegun | str:
    """The next item sent by :func:`send_item`; EOFError if the stream ended between two.

    A frame's pixels in a shared slot are views on ``slots``: valid until the reply.
    """
    header = _receive_map(sock)
    kind = header.get("kind")
    if kind == STOP:
        return STOP
    try:
        start = {name: header[name] for name in START}
        if kind == "begin":
            return FrameBegun(**start)
        if kind != "frame":
            raise WireError(f"an item of kind {kind!r}")
        images, overscan = _receive_pixels(sock, header["pixels"], slots, header.get("slot"))
        return Frame(
            **start,
            register_map=np.frombuffer(header["register_map"], np.uint8).copy(),
            commands=json.loads(header["commands"]),
            images=images,
            overscan=overscan,
            complete=header["complete"],
            hk_readback=header["hk_readback"],
            num_cycles=header["num_cycles"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"a malformed {kind!r} item: {exc!r}") from exc


def send_reply(sock: socket.socket, reply: dict[str, Any]) -> None:
    _send_map(sock, reply)


def receive_reply(sock: socket.socket) -> dict[str, Any]:
    return _receive_map(sock)


def _receive_pixels(
    sock: socket.socket, listed: object, slots: PixelSlots | None, slot: object
) -> tuple[dict[tuple[int, str], np.ndarray], dict[tuple[int, str], np.ndarray]]:
    if not isinstance(listed, list) or len(listed) > 2 * len(SLOTS):
        raise WireError(f"pixels: a list of at most {2 * len(SLOTS)} sides")
    found: dict[str, dict[tuple[int, str], np.ndarray]] = {"images": {}, "overscan": {}}
    shapes = []
    for kind, ccd, side, rows, cols in listed:
        if kind not in found or (ccd, side) not in SLOTS:
            raise WireError(f"pixels of {kind!r} {ccd!r} {side!r}")
        if not (0 < rows <= MAX_ROWS and 0 < cols <= MAX_COLS):
            raise WireError(f"{rows} x {cols} pixels, at most {MAX_ROWS} x {MAX_COLS}")
        shapes.append((rows, cols))
    if slot is None:
        arrays = [np.empty(shape, PIXEL) for shape in shapes]
        for array in arrays:
            _receive_into(sock, array.reshape(-1).view(np.uint8).data)
    elif slots is None or not isinstance(slot, int):
        raise WireError(f"pixels in slot {slot!r}, and no shared slots here")
    else:
        arrays = slots.views(slot, shapes, PIXEL)
    for (kind, ccd, side, _, _), array in zip(listed, arrays, strict=True):
        found[kind][(ccd, side)] = array
    return found["images"], found["overscan"]


def _send_map(sock: socket.socket, value: dict[str, Any]) -> None:
    body = msgpack.packb(value, use_bin_type=True)
    sock.sendall(LENGTH.pack(len(body)) + body)


def _receive_map(sock: socket.socket) -> dict[str, Any]:
    prefix = bytearray(LENGTH.size)
    if not _receive_into(sock, memoryview(prefix), at_start=True):
        raise EOFError("the stream ended")
    (size,) = LENGTH.unpack(prefix)
    if size > MAX_HEADER_BYTES:
        raise WireError(f"a header of {size} bytes, at most {MAX_HEADER_BYTES}")
    body = bytearray(size)
    _receive_into(sock, memoryview(body))
    try:
        value = msgpack.unpackb(bytes(body), raw=False, strict_map_key=True)
    except (ValueError, msgpack.UnpackException) as exc:
        raise WireError(f"a header that is not msgpack: {exc}") from exc
    if not isinstance(value, dict):
        raise WireError(f"a header is a map, not {type(value).__name__}")
    return value


def _receive_into(sock: socket.socket, view: memoryview, *, at_start: bool = False) -> bool:
    """Fill ``view``; False if the stream ended before its first byte and ``at_start``."""
    got = 0
    while got < len(view):
        count = sock.recv_into(view[got:])
        if count == 0:
            if at_start and got == 0:
                return False
            raise WireError(f"the stream ended {got} bytes into a {len(view)}-byte part")
        got += count
    return True
