"""Synthetic images: deterministic, partial readout == slice of the full side, plausible pixels."""

from __future__ import annotations

import numpy as np
import pytest

from controlroom.devices.camera.errors import ReadoutError
from controlroom.devices.camera.geometry import (
    COLUMNS,
    IMAGE_COLUMNS,
    IMAGE_ROWS,
    ROWS,
    Readout,
    Side,
)
from controlroom.devices.camera.images import (
    BIAS_ADU,
    NOISE_BLOCK_ROWS,
    pattern_image,
    pixel_checksum,
    stars,
    synthetic_image,
)


@pytest.fixture(scope="module")
def full_side() -> np.ndarray:
    return synthetic_image(11, 5, 3, Side.F, ROWS, COLUMNS)


def test_a_full_side_is_uint16_on_the_readout_grid(full_side: np.ndarray) -> None:
    assert full_side.dtype == np.uint16 and full_side.shape == (4540, 2270)


def test_the_same_source_gives_the_same_pixels(full_side: np.ndarray) -> None:
    again = synthetic_image(11, 5, 3, Side.F, ROWS, COLUMNS)
    assert pixel_checksum(again) == pixel_checksum(full_side)
    assert np.array_equal(again, full_side)


@pytest.mark.parametrize(
    ("seed", "frame", "ccd", "side"),
    [(12, 5, 3, Side.F), (11, 6, 3, Side.F), (11, 5, 4, Side.F), (11, 5, 3, Side.E)],
)
def test_every_coordinate_of_the_source_changes_the_image(
    full_side: np.ndarray, seed: int, frame: int, ccd: int, side: Side
) -> None:
    other = synthetic_image(seed, frame, ccd, side, ROWS, COLUMNS)
    assert pixel_checksum(other) != pixel_checksum(full_side)
    assert np.count_nonzero(other != full_side) > full_side.size // 2


@pytest.mark.parametrize(
    ("rows", "cols"),
    [
        (range(0, 1), range(0, 1)),
        (range(100, 300), range(0, 512)),
        (range(NOISE_BLOCK_ROWS - 1, NOISE_BLOCK_ROWS + 1), range(2000, 2270)),
        (range(4500, 4540), range(IMAGE_COLUMNS, COLUMNS)),
        (range(1234, 4321), range(17, 2255)),
    ],
)
def test_a_partial_readout_is_the_slice_of_the_full_image(
    full_side: np.ndarray, rows: range, cols: range
) -> None:
    part = synthetic_image(11, 5, 3, Side.F, rows, cols)
    assert np.array_equal(part, full_side[rows.start : rows.stop, cols.start : cols.stop])


def test_every_star_is_the_same_in_a_partial_readout(full_side: np.ndarray) -> None:
    for star in stars(11, 3, Side.F):
        r, c = int(star.row), int(star.column)
        rows, cols = range(max(0, r - 3), r + 4), range(max(0, c - 3), c + 4)
        part = synthetic_image(11, 5, 3, Side.F, rows, cols)
        assert np.array_equal(part, full_side[rows.start : rows.stop, cols.start : cols.stop])


def test_the_readout_geometry_feeds_the_generator(full_side: np.ndarray) -> None:
    readout = Readout(v_start=40, v_end=139, h_end=299, sides=(Side.F,))
    data = synthetic_image(11, 5, 3, Side.F, readout.rows, readout.columns)
    overscan = synthetic_image(11, 5, 3, Side.F, readout.rows, readout.overscan_columns)
    assert data.shape == readout.data_shape and overscan.shape == readout.overscan_shape
    assert np.array_equal(data, full_side[40:140, :300])
    assert np.array_equal(overscan, full_side[40:140, IMAGE_COLUMNS:])


def test_pixels_look_like_a_ccd(full_side: np.ndarray) -> None:
    overscan = full_side[:, IMAGE_COLUMNS:].astype(float)
    assert abs(overscan.mean() - BIAS_ADU) < 1
    assert 4 < overscan.std() < 6  # read noise only
    image = full_side[:IMAGE_ROWS, :IMAGE_COLUMNS].astype(float)
    assert np.median(image) > BIAS_ADU + 50  # the sky
    assert np.median(image[-100:, -100:]) > np.median(image[:100, :100])  # the gradient
    for star in stars(11, 3, Side.F):
        peak = full_side[round(star.row), round(star.column)]
        assert peak > BIAS_ADU + 0.3 * star.peak


def test_stars_stay_put_from_frame_to_frame() -> None:
    assert stars(11, 3, Side.F) == stars(11, 3, Side.F)
    assert stars(11, 3, Side.F) != stars(11, 3, Side.E)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 1, Side.E, 10, 10), "seed -1"),
        ((0, 0, 5, Side.E, 10, 10), "ccd 5 is not one of"),
        ((0, 0, 1, Side.E, range(0, 4541), 10), "rows range"),
        ((0, 0, 1, Side.E, 10, range(5, 5)), "cols range"),
        ((0, 0, 1, Side.E, range(0, 10, 2), 10), "rows range"),
    ],
)
def test_bad_requests_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(ReadoutError, match=message):
        synthetic_image(*args)


def test_the_pattern_encodes_ccd_side_and_position() -> None:
    full = pattern_image(3, 2, Side.F, ROWS, COLUMNS)
    assert full[0, 0] == (1 << 14) | (1 << 13) | 3
    assert full[10, 20] == (1 << 14) | (1 << 13) | 33
    part = pattern_image(3, 2, Side.F, range(100, 200), range(50, 60))
    assert np.array_equal(part, full[100:200, 50:60])


def test_the_checksum_sees_one_changed_pixel(full_side: np.ndarray) -> None:
    changed = full_side.copy()
    changed[4000, 1000] ^= 1
    assert pixel_checksum(changed) != pixel_checksum(full_side)
    wire = full_side.astype(">u2").tobytes()
    decoded = np.frombuffer(wire, dtype=">u2").reshape(full_side.shape)
    assert pixel_checksum(decoded) == pixel_checksum(full_side)
