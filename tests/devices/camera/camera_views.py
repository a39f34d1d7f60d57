"""What the camera's viewers (CLI, panel) are tested with: a PNG reader, a served DPU that
takes images, and the stored pixels a preview must show.

Imported by name from tests/devices/camera, tests/cli, tests/web and tests/e2e (keep the
file name unique); it puts the DPU control server's test helpers on ``sys.path``.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

_CAMERA_TESTS = Path(__file__).resolve().parent
if str(_CAMERA_TESTS / "control") not in sys.path:
    sys.path.append(str(_CAMERA_TESTS / "control"))
from dpu_server import (  # noqa: E402
    WAIT_S,
    Camera,
    PartialReadout,
    camera_server,
    geometry,
    whole_image_frames,
)

from controlroom.devices.camera.control.images import binning_for, block_mean  # noqa: E402
from controlroom.devices.camera.preview import PNG_SIGNATURE, to_gray  # noqa: E402
from controlroom.testing.waiting import wait_until  # noqa: E402

__all__ = ["WAIT_S", "Camera", "camera_server", "whole_image_frames"]

E_ONLY = PartialReadout(sensor_sel=1)  # side E of each CCD read out: no F side is ever stored
MAX_SIZE = 32  # E_ONLY's 64 x 100 pixels come binned by 4: 16 x 25


def read_png(data: bytes) -> tuple[dict[str, int], np.ndarray]:
    """IHDR fields and the grayscale pixels of a PNG, every chunk's CRC checked.

    Only what the preview writes is understood (8-bit grey, filter 0 rows), so a
    change of format fails here instead of passing unread.
    """
    assert data[:8] == PNG_SIGNATURE
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    header = {"width": width, "height": height, "depth": depth, "colour": colour}
    assert (compression, filtering, interlace) == (0, 0, 0)
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), np.uint8).reshape(height, width + 1)
    assert not raw[:, 0].any(), "every scanline uses filter type 0"
    assert chunks[2][1] == b""
    return header, raw[:, 1:]


def take_images(camera: Camera, ccd: int = 1) -> dict[str, Any]:
    """FULL_IMAGE of the E sides (small readouts) until told otherwise; once CCD ``ccd``'s
    first image is stored, its ``latest_image`` answer (at most MAX_SIZE a side)."""
    with camera.proxy() as proxy:
        proxy.full_image(num_cycles=0, **geometry(E_ONLY))
        found: list[dict[str, Any]] = []

        def stored() -> bool:
            try:
                found.append(proxy.latest_image(ccd, "E", MAX_SIZE))
            except Exception:  # NoImage until the first readout of that CCD is written
                return False
            return True

        assert wait_until(stored, WAIT_S, every_s=0.05), "no image was stored"
    return found[-1]


def expected_gray(
    root: Path, frame_counter: int, ccd: int, side: str, max_size: int, stretch: str
) -> np.ndarray:
    """The preview of stored frame ``frame_counter``'s CCD side: binned, then stretched."""
    for path in sorted(root.glob("*/*.h5")):
        for frame in whole_image_frames(path):
            if frame.frame_counter == frame_counter and (ccd, side) in frame.images:
                pixels = frame.images[(ccd, side)]
                return to_gray(block_mean(pixels, binning_for(pixels.shape, max_size)), stretch)
    raise AssertionError(f"frame {frame_counter} with ccd {ccd} side {side} is not stored")
