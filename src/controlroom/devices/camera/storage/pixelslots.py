"""Frame pixels handed to the writer process through shared memory instead of its socket.

Sending a 41 MB frame over the socket pair costs two copies in the kernel
(into the socket, out of it) on a machine where the FEE, the DPU loop and
the writer already share the cores. Instead the parent copies the pixels
once into a free *slot* of an anonymous shared mapping (``memfd``) that the
writer child inherited, and sends only the header; the child writes to HDF5
straight from views on that slot, and the parent frees the slot when the
child's reply for that frame comes. With every slot in use the parent waits
for one, as it waited for room in the socket before.

The child trusts nothing in a header: a slot number or a layout that does
not fit its mapping is refused (:class:`SlotError`).
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Sequence

import numpy as np

from controlroom.devices.camera.storage.frames import CameraStorageError

# Both sides of a full-frame readout, image and overscan: 4540 rows of 2270 pixels.
FRAME_BYTES = 2 * 4540 * 2270 * 2
IN_FLIGHT = 3  # one being written, one sent behind it, one being filled


class SlotError(CameraStorageError):
    """A slot or a layout that the shared pixel mapping does not hold."""


class PixelSlots:
    """``count`` slots of ``slot_bytes`` each in one shared mapping.

    The parent makes it (``fd=None``: a new memfd) and hands ``fd`` to the
    child, which maps the same memory with ``PixelSlots(count, slot_bytes, fd)``.
    """

    def __init__(
        self, count: int = IN_FLIGHT, slot_bytes: int = FRAME_BYTES, fd: int | None = None
    ) -> None:
        if count < 1 or slot_bytes < 1:
            raise SlotError(f"{count} slots of {slot_bytes} bytes")
        self.count, self.slot_bytes = count, slot_bytes
        self.fd = os.memfd_create("camera-pixels") if fd is None else fd
        if fd is None:
            os.ftruncate(self.fd, count * slot_bytes)  # sparse: pages appear when first filled
        self._map = mmap.mmap(self.fd, count * slot_bytes)
        self._free = list(range(count))
        self._changed = threading.Condition()

    def fits(self, arrays: Sequence[np.ndarray]) -> bool:
        return sum(array.nbytes for array in arrays) <= self.slot_bytes

    def take(self) -> int:
        """A free slot, waiting until the child's reply frees one."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._free))
            return self._free.pop()

    def give_back(self, slot: int) -> None:
        with self._changed:
            if slot not in self._free:
                self._free.append(slot)
                self._changed.notify()

    def place(self, slot: int, arrays: Sequence[np.ndarray]) -> None:
        """Copy ``arrays`` one after the other into ``slot`` (``fits`` first)."""
        offset = self._start(slot)
        for array in arrays:
            flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
            self._map[offset : offset + flat.nbytes] = flat.data
            offset += flat.nbytes

    def views(
        self, slot: int, shapes: Sequence[tuple[int, int]], dtype: np.dtype
    ) -> list[np.ndarray]:
        """Arrays of ``shapes`` laid one after the other in ``slot`` (no copy)."""
        offset = self._start(slot)
        end = offset + self.slot_bytes
        views = []
        for shape in shapes:
            nbytes = shape[0] * shape[1] * dtype.itemsize
            if offset + nbytes > end:
                raise SlotError(f"pixels beyond the {self.slot_bytes} bytes of a slot")
            array = np.frombuffer(self._map, dtype, shape[0] * shape[1], offset)
            views.append(array.reshape(shape))
            offset += nbytes
        return views

    def close(self) -> None:
        """Unmap and close (views must be gone by then)."""
        self._map.close()
        os.close(self.fd)

    def _start(self, slot: int) -> int:
        if not (isinstance(slot, int) and 0 <= slot < self.count):
            raise SlotError(f"slot {slot!r} of {self.count}")
        return slot * self.slot_bytes
