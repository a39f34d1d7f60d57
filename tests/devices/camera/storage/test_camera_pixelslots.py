"""Frame pixels through shared slots: the writer child reads what the parent placed, no copy.

Two mappings of one memfd stand for the parent's and the child's; a socket
pair for their stream. Checked: pixels arrive exact as views on the shared
memory with nothing behind the header on the socket, a header naming a slot
or a layout the mapping does not hold is refused, a frame too big for a slot
or with every slot in use goes over the socket, and a frame assembled in a
leased slot goes without a copy, the slot free again once the frame is gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from controlroom.devices.camera.storage import Frame
from controlroom.devices.camera.storage.framewire import (
    PIXEL,
    WireError,
    receive_item,
    send_item,
)
from controlroom.devices.camera.storage.hdf5process import WriterProcess
from controlroom.devices.camera.storage.pixelslots import PixelSlots, SlotError
from controlroom.testing.lentframes import in_lent_memory

SLOT_BYTES = 1 << 20


def a_frame(counter: int, rows: int = 120, cols: int = 90) -> Frame:
    rng = np.random.default_rng(counter)
    sides = ((3, "E"), (3, "F"))
    return Frame(
        obsid="OBS_SLOTS",
        frame_counter=counter,
        timecode=counter % 64,
        received_s=1_767_268_800.0 + counter,
        hk=bytes(range(64)),
        register_map=np.arange(256, dtype=np.uint8),
        images={key: rng.integers(0, 65536, (rows, cols), dtype=np.uint16) for key in sides},
        overscan={key: rng.integers(0, 65536, (rows, 15), dtype=np.uint16) for key in sides},
    )


@pytest.fixture
def mappings() -> Iterator[tuple[PixelSlots, PixelSlots]]:
    """The parent's slots and the child's mapping of the same memory."""
    parent = PixelSlots(2, SLOT_BYTES)
    child = PixelSlots(2, SLOT_BYTES, fd=os.dup(parent.fd))
    try:
        yield parent, child
    finally:
        parent.close()
        child.close()


@pytest.fixture
def stream() -> Iterator[tuple[socket.socket, socket.socket]]:
    ends = socket.socketpair()
    try:
        yield ends
    finally:
        for end in ends:
            end.close()


def test_pixels_placed_in_a_slot_arrive_exact_as_views_and_nothing_follows_the_header(
    mappings: tuple[PixelSlots, PixelSlots], stream: tuple[socket.socket, socket.socket]
) -> None:
    parent, child = mappings
    mine, theirs = stream
    sent = a_frame(1)
    slot = parent.try_take()
    assert slot is not None
    send_item(mine, sent, slots=parent, slot=slot)
    got = receive_item(theirs, child)
    assert isinstance(got, Frame)
    for kind in ("images", "overscan"):
        for key, array in getattr(sent, kind).items():
            back = getattr(got, kind)[key]
            assert back.dtype == PIXEL and np.array_equal(back, array)
            assert not back.flags.owndata  # a view on the shared mapping, not a received copy
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):  # the pixels did not travel on the socket
        theirs.recv(1)
    del got, back  # the views go before the mapping closes


def test_without_a_slot_the_pixels_follow_the_header_as_before(
    stream: tuple[socket.socket, socket.socket],
) -> None:
    mine, theirs = stream
    sent = a_frame(2)
    send_item(mine, sent)
    got = receive_item(theirs)
    assert isinstance(got, Frame)
    assert all(np.array_equal(got.images[k], v) for k, v in sent.images.items())


def test_a_slot_the_mapping_does_not_hold_is_refused(
    mappings: tuple[PixelSlots, PixelSlots], stream: tuple[socket.socket, socket.socket]
) -> None:
    parent, _ = mappings
    mine, theirs = stream
    other = PixelSlots(5, SLOT_BYTES)  # a parent that believes in more slots
    try:
        send_item(mine, a_frame(3), slots=other, slot=4)
    finally:
        other.close()
    with pytest.raises(SlotError, match="slot 4 of 2"):
        receive_item(theirs, parent)
    send_item(mine, a_frame(4), slots=parent, slot=0)
    with pytest.raises(WireError, match="no shared slots here"):
        receive_item(theirs)


def test_a_layout_beyond_its_slot_is_refused(mappings: tuple[PixelSlots, PixelSlots]) -> None:
    _, child = mappings
    with pytest.raises(SlotError, match="beyond"):
        child.views(1, [(1024, 1024)], PIXEL)  # 2 MiB in a 1 MiB slot
    assert [v.shape for v in child.views(1, [(256, 1024), (256, 1024)], PIXEL)] == [(256, 1024)] * 2


def test_a_frame_too_big_for_a_slot_or_with_none_free_goes_over_the_socket() -> None:
    slots = PixelSlots(1, SLOT_BYTES)
    try:
        assert WriterProcess._slot_for(slots, a_frame(5)) == (0, True)
        assert WriterProcess._slot_for(slots, a_frame(6)) == (None, False)  # none free: no wait
        slots.give_back(0)
        assert WriterProcess._slot_for(slots, a_frame(7, rows=2000, cols=2000)) == (None, False)
    finally:
        slots.close()


def leased_frame(slots: PixelSlots, counter: int) -> Frame | None:
    """A frame whose pixels were assembled in a leased slot, as the DPU does (None: no slot)."""
    return in_lent_memory(a_frame(counter), slots.lease)


def test_a_frame_assembled_in_a_leased_slot_is_sent_from_there_without_a_copy(
    mappings: tuple[PixelSlots, PixelSlots], stream: tuple[socket.socket, socket.socket]
) -> None:
    parent, child = mappings
    frame = leased_frame(parent, 8)
    assert frame is not None
    slot, taken = WriterProcess._slot_for(parent, frame)
    assert slot is not None and not taken  # its own slot: nothing taken for it
    parent._map = _NoWrites(parent._map)  # a copy fails the test
    try:
        send_item(stream[0], frame, slots=parent, slot=slot)
    finally:
        parent._map = parent._map.inner
    received = receive_item(stream[1], child)
    assert isinstance(received, Frame)
    for key, array in frame.images.items():
        assert np.array_equal(received.images[key], array)
    del received


def test_a_leased_slot_is_free_again_once_no_array_of_it_is_left(
    mappings: tuple[PixelSlots, PixelSlots],
) -> None:
    parent, _ = mappings
    first, second = leased_frame(parent, 1), leased_frame(parent, 2)
    assert first is not None and second is not None
    assert leased_frame(parent, 3) is None  # both slots leased: the DPU uses its own arrays
    image = first.images[(3, "E")][10:20]  # a view outlives its frame
    del first
    assert parent.try_take() is None
    del image
    assert parent.try_take() is not None  # the first frame's slot is back


def test_a_leased_frame_not_laid_out_in_order_takes_another_slot(
    mappings: tuple[PixelSlots, PixelSlots],
) -> None:
    parent, _ = mappings
    frame = leased_frame(parent, 4)
    assert frame is not None
    cut = replace(frame, images={(3, "F"): frame.images[(3, "F")]})  # side E did not come whole
    assert parent.holding([*cut.images.values(), *cut.overscan.values()]) is None
    slot, taken = WriterProcess._slot_for(parent, cut)
    assert (
        taken
        and slot is not None
        and slot != parent.holding([*frame.images.values(), *frame.overscan.values()])
    )


class _NoWrites:
    """A mapping that refuses writes (reads and the rest go to ``inner``)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __setitem__(self, key: object, value: object) -> None:
        raise AssertionError("pixels were copied into the slot")

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)
