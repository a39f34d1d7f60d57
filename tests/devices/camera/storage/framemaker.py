"""Deterministic camera frames for the storage tests, and a digest to compare them by.

Imported by the tests and by the child processes they start (both find it on
``sys.path``: pytest puts a test's folder there, Python a script's).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from controlroom.devices.camera.storage import SLOTS, Frame

T0 = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
ALL_SIDES = SLOTS


def make_frame(
    counter: int,
    *,
    obsid: str | None = "OBS_0001",
    received_s: float | None = None,
    shape: tuple[int, int] = (40, 30),
    sides: tuple[tuple[int, str], ...] = ((1, "E"), (1, "F"), (3, "E")),
    complete: bool = True,
) -> Frame:
    """Frame ``counter``: full-range pseudo-random pixels seeded by the counter."""
    rng = np.random.default_rng(counter)
    rows, cols = shape
    return Frame(
        obsid=obsid,
        frame_counter=counter,
        timecode=counter % 64,
        received_s=T0 + counter * 6.25 if received_s is None else received_s,
        hk=rng.integers(0, 256, 64, dtype=np.uint8).tobytes(),
        register_map=rng.integers(0, 256, 256, dtype=np.uint8),
        commands=[{"register": "v_start", "value": counter}],
        images={key: rng.integers(0, 65536, (rows, cols), dtype=np.uint16) for key in sides},
        overscan={key: rng.integers(0, 65536, (4, cols), dtype=np.uint16) for key in sides},
        complete=complete,
        hk_readback=rng.integers(0, 256, 64, dtype=np.uint8).tobytes(),
        num_cycles=counter % 5 - 1,
    )


def digest(frame: Frame) -> str:
    """SHA-256 over every stored field of ``frame`` (not ``complete``)."""
    h = hashlib.sha256()
    fields = [frame.obsid, frame.frame_counter, frame.timecode, frame.received_s, frame.commands]
    h.update(json.dumps([*fields, frame.num_cycles]).encode())
    h.update(frame.hk)
    h.update(frame.hk_readback)
    h.update(frame.register_map.tobytes())
    for kind in (frame.images, frame.overscan):
        for key in sorted(kind):
            array = kind[key]
            h.update(f"{key}{array.shape}".encode())
            h.update(array.astype("<u2").tobytes())
    return h.hexdigest()
