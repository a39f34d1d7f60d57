"""Camera frames laid into memory a writer lends, as the DPU processor assembles them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from controlroom.devices.camera.dpu.readout import Lend
from controlroom.devices.camera.storage import Frame
from controlroom.devices.camera.storage.framewire import pixel_arrays


def in_lent_memory(frame: Frame, lend: Lend) -> Frame | None:
    """``frame`` with its pixels copied into one block from ``lend``, in the order they
    travel (all image sides, then all overscan); None if nothing was lent."""
    arrays = pixel_arrays(frame)
    block = lend(sum(array.nbytes for array in arrays))
    if block is None:
        return None
    laid, offset = [], 0
    for array in arrays:
        view = block[offset : offset + array.nbytes].view(np.uint16).reshape(array.shape)
        view[...] = array
        laid.append(view)
        offset += array.nbytes
    images = dict(zip(frame.images, laid[: len(frame.images)], strict=True))
    overscan = dict(zip(frame.overscan, laid[len(frame.images) :], strict=True))
    return replace(frame, images=images, overscan=overscan)
