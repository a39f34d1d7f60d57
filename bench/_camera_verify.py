"""Read-back check of bench/camera.py: stored pixels against the simulator's images."""

from __future__ import annotations

from pathlib import Path

from controlroom.devices.camera.geometry import IMAGE_COLUMNS, Side
from controlroom.devices.camera.images import synthetic_image
from controlroom.devices.camera.storage import SLOTS, FrameFileReader


def verify(root: Path, seed: int, per_round: int) -> tuple[int, int]:
    """(frames checked, frames whose pixels differ from the simulator's images)."""
    checked = mismatches = 0
    for path in sorted(root.rglob("*.h5")):
        with FrameFileReader(path) as reader:
            imaged = [
                e for e in reader.entries()
                if e.whole and any(reader.pixel_shape(e.position, "images", k) for k in SLOTS)
            ]  # fmt: skip
            step = 1 if per_round < 0 else max(1, len(imaged) // max(per_round, 1))
            for entry in imaged[::step] if per_round else []:
                checked += 1
                mismatches += not _pixel_exact(reader, entry.position, entry.frame_counter, seed)
    return checked, mismatches


def _pixel_exact(reader: FrameFileReader, position: int, frame: int, seed: int) -> bool:
    for kind, first_column in (("images", 0), ("overscan", IMAGE_COLUMNS)):
        for ccd, side in SLOTS:
            stored = reader.pixels(position, kind, (ccd, side))
            if stored is None:
                continue
            rows, cols = stored.shape
            columns = range(first_column, first_column + cols)
            expected = synthetic_image(seed, frame, ccd, Side(side), rows, columns)
            if not (stored == expected).all():
                return False
    return True
