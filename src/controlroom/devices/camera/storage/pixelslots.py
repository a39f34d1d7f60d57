"""Frame pixels handed to the writer process through shared memory instead of its socket.

Sending a 41 MB frame over the socket pair costs two copies in the kernel
(into the socket, out of it) on a machine where the FEE, the DPU loop and
the writer already share the cores. Instead the parent copies the pixels
once into a free *slot* of an anonymous shared mapping (``memfd``) that the
writer child inherited, and sends only the header; the child writes to HDF5
straight from views on that slot, and the parent frees the slot when the
child's reply for that frame comes. With every slot in use the pixels
follow the header on the socket, as before: the parent never waits for a
slot (leased slots below free up only as frames move on).

The DPU processor can also *lease* a free slot and assemble a readout's
pixels straight into it (:meth:`PixelSlots.lease`): a frame whose arrays are
already where :meth:`PixelSlots.place` would copy them is sent without a copy.
A leased slot is free again once no array made from it is left in the parent
(the frame was answered and dropped, or never sent); a leased frame that was
not stored whole goes the usual way, into another slot or over the socket.

The child trusts nothing in a header: a slot number or a layout that does
not fit its mapping is refused (:class:`SlotError`).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import weakref
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
        self._whole: np.ndarray | None = np.frombuffer(self._map, np.uint8)  # for addresses
        self._free = list(range(count))
        self._changed = threading.Condition()  # reentrant: a lease may end inside a call

    def fits(self, arrays: Sequence[np.ndarray]) -> bool:
        return sum(array.nbytes for array in arrays) <= self.slot_bytes

    def try_take(self) -> int | None:
        """A free slot, or None at once."""
        with self._changed:
            return self._free.pop() if self._free else None

    def lease(self, nbytes: int) -> np.ndarray | None:
        """The first ``nbytes`` of a free slot (uint8), or None if none is free.

        The slot is free again once that array and every array made from it are gone.
        """
        if self._whole is None or not 0 < nbytes <= self.slot_bytes:
            return None
        slot = self.try_take()
        if slot is None:
            return None
        start = slot * self.slot_bytes
        try:
            region = np.frombuffer(memoryview(self._map)[start : start + nbytes], np.uint8)
        except ValueError:  # closed meanwhile (the writer stops)
            return None
        weakref.finalize(region, self.give_back, slot)  # views keep ``region`` alive
        return region

    def holding(self, arrays: Sequence[np.ndarray]) -> int | None:
        """The slot in use whose start holds ``arrays`` one after the other, as
        :meth:`place` would lay them (a leased frame assembled in place), or None."""
        if self._whole is None or not arrays:
            return None
        base = self._whole.ctypes.data
        first = arrays[0].ctypes.data - base
        if not 0 <= first < self.count * self.slot_bytes or first % self.slot_bytes:
            return None
        slot, offset = first // self.slot_bytes, first
        for array in arrays:
            native = array.dtype == np.dtype("<u2") and array.flags.c_contiguous
            if not native or array.ctypes.data != base + offset:
                return None
            offset += array.nbytes
        with self._changed:
            in_use = slot not in self._free
        return slot if in_use and offset - first <= self.slot_bytes else None

    def give_back(self, slot: int) -> None:
        with self._changed:
            if slot not in self._free:
                self._free.append(slot)
                self._changed.notify()

    def place(self, slot: int, arrays: Sequence[np.ndarray]) -> None:
        """Copy ``arrays`` one after the other into ``slot`` (``fits`` first)."""
        offset = self._start(slot)
        base = None if self._whole is None else self._whole.ctypes.data
        for array in arrays:
            flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
            if base is None or flat.ctypes.data != base + offset:  # else assembled there
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
        """Close; the mapping goes with the last array still made from it (a lease
        the DPU still holds), else now. No slot is leased any more."""
        self._whole = None
        with contextlib.suppress(BufferError):  # arrays on it are left: they keep it
            self._map.close()
        os.close(self.fd)

    def _start(self, slot: int) -> int:
        if not (isinstance(slot, int) and 0 <= slot < self.count):
            raise SlotError(f"slot {slot!r} of {self.count}")
        return slot * self.slot_bytes
