"""Deterministic frames for the writer-process tests, and what a stored one must equal.

Imported by the tests and by the child processes they start (both find it on
``sys.path``: pytest puts a test's folder there, Python a script's).
"""

from __future__ import annotations

import numpy as np

from controlroom.devices.camera.storage import Frame, FrameBegun

T0 = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
OBSID = "OBS_WRITER"


def frame(counter: int, rows: int = 300, cols: int = 200) -> Frame:
    """Frame ``counter``: full-range pixels seeded by the counter, two CCD sides."""
    rng = np.random.default_rng(counter)
    sides = ((2, "E"), (2, "F"))
    return Frame(
        obsid=OBSID,
        frame_counter=counter,
        timecode=counter % 64,
        received_s=T0 + counter * 6.25,
        hk=rng.integers(0, 256, 64, dtype=np.uint8).tobytes(),
        register_map=rng.integers(0, 256, 256, dtype=np.uint8),
        commands=[{"register": "v_start", "value": counter, "error": ""}],
        images={key: rng.integers(0, 65536, (rows, cols), dtype=np.uint16) for key in sides},
        overscan={key: rng.integers(0, 65536, (4, cols), dtype=np.uint16) for key in sides},
        hk_readback=rng.integers(0, 256, 32, dtype=np.uint8).tobytes(),
        num_cycles=counter % 3,
    )


def begun(of: Frame) -> FrameBegun:
    return FrameBegun(of.obsid, of.frame_counter, of.timecode, of.received_s, of.hk)


def same(stored: Frame, sent: Frame) -> bool:
    """Every field the file keeps, pixel for pixel."""
    fields = ("obsid", "frame_counter", "timecode", "received_s", "hk", "commands")
    fields += ("complete", "hk_readback", "num_cycles")
    if any(getattr(stored, name) != getattr(sent, name) for name in fields):
        return False
    if stored.register_map.tobytes() != sent.register_map.tobytes():
        return False
    for kind in ("images", "overscan"):
        mine, theirs = getattr(stored, kind), getattr(sent, kind)
        if sorted(mine) != sorted(theirs):
            return False
        if any(not np.array_equal(mine[key], theirs[key]) for key in theirs):
            return False
    return True
