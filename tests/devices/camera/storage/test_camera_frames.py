"""A Frame refuses what the writer could not store, naming the field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from framemaker import make_frame

from controlroom.devices.camera.storage import InvalidFrameError, UnsafePathError
from controlroom.devices.camera.storage.frames import MAX_COLS, MAX_HK_BYTES


def test_a_valid_frame_counts_its_payload() -> None:
    frame = make_frame(1)
    pixels = 3 * (40 * 30 + 4 * 30) * 2
    assert frame.nbytes == 64 + 64 + 256 + pixels  # HK, HK read back, register map


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"frame_counter": -1}, "frame_counter"),
        ({"frame_counter": True}, "frame_counter"),
        ({"timecode": 64}, "timecode"),
        ({"received_s": float("nan")}, "received_s"),
        ({"received_s": "now"}, "received_s"),
        ({"hk": "text"}, "hk"),
        ({"hk": bytes(MAX_HK_BYTES + 1)}, "hk"),
        ({"register_map": np.zeros(4, np.uint16)}, "register_map"),
        ({"register_map": np.zeros((2, 2), np.uint8)}, "register_map"),
        ({"commands": [float("inf")]}, "commands"),
        ({"commands": [object()]}, "commands"),
        ({"commands": "v_start=1"}, "commands"),
        ({"images": {(5, "E"): np.zeros((2, 2), np.uint16)}}, "images"),
        ({"images": {(1, "X"): np.zeros((2, 2), np.uint16)}}, "images"),
        ({"images": {(1, "E"): np.zeros((2, 2), np.int16)}}, "images[ccd1_E]"),
        ({"images": {(1, "E"): np.zeros((2, 2), np.float32)}}, "images[ccd1_E]"),
        ({"images": {(1, "E"): np.zeros(4, np.uint16)}}, "images[ccd1_E]"),
        ({"images": {(2, "F"): np.zeros((0, 3), np.uint16)}}, "images[ccd2_F]"),
        ({"overscan": {(4, "F"): np.zeros((1, MAX_COLS + 1), np.uint16)}}, "overscan[ccd4_F]"),
        ({"complete": 1}, "complete"),
        ({"hk_readback": bytearray(4)}, "hk_readback"),
        ({"hk_readback": bytes(MAX_HK_BYTES + 1)}, "hk_readback"),
        ({"num_cycles": -2}, "num_cycles"),
        ({"num_cycles": 2.0}, "num_cycles"),
    ],
)
def test_a_bad_field_is_refused_by_name(change: dict, field: str) -> None:
    with pytest.raises(InvalidFrameError, match=rf"^{field.replace('[', '.').replace(']', '.')}"):
        dataclasses.replace(make_frame(1), **change)


@pytest.mark.parametrize("obsid", ["", "../etc", "a/b", ".hidden", "x" * 65, "obs id", 7])
def test_an_obsid_that_cannot_name_a_file_is_refused(obsid: object) -> None:
    with pytest.raises(UnsafePathError, match="obsid"):
        make_frame(1, obsid=obsid)  # type: ignore[arg-type]


def test_big_endian_pixels_as_they_come_off_the_link_are_accepted() -> None:
    pixels = np.arange(6, dtype=">u2").reshape(2, 3)
    frame = dataclasses.replace(make_frame(1), images={(2, "E"): pixels})
    assert frame.images[(2, "E")] is pixels  # kept by reference, not copied
