"""Synthetic images: deterministic, partial readout == slice of the full side, plausible pixels.

The generator precomputes what does not change with the frame; these tests
recompute pixels from the definition (bias + sky + stars, rounded, + noise)
so a shortcut that changes a pixel shows.
"""

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
    MAX_ADU,
    SKY_ADU,
    SKY_PER_COLUMN,
    SKY_PER_ROW,
    Star,
    pattern_image,
    pixel_checksum,
    read_noise,
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
        (range(63, 65), range(2000, 2270)),
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


def _star_box(star: Star) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns a star lights: within ceil(5 sigma), on the image area."""
    half = int(np.ceil(5 * star.sigma))
    rows = np.arange(max(0, int(star.row) - half), min(IMAGE_ROWS, int(star.row) + half + 1))
    cols = np.arange(
        max(0, int(star.column) - half), min(IMAGE_COLUMNS, int(star.column) + half + 1)
    )
    return rows, cols


def _reference_side(seed: int, frame: int, ccd: int, side: Side) -> np.ndarray:
    """A whole side the slow way: float light over the grid, every star added, then the noise."""
    r = np.arange(ROWS, dtype=np.float64)
    c = np.arange(COLUMNS, dtype=np.float64)
    row_light = np.where(r < IMAGE_ROWS, SKY_ADU / 2 + SKY_PER_ROW * r, -np.inf)
    col_light = np.where(c < IMAGE_COLUMNS, SKY_ADU / 2 + SKY_PER_COLUMN * c, -np.inf)
    light = np.maximum(row_light[:, None] + col_light[None, :], 0.0) + BIAS_ADU
    for star in stars(seed, ccd, side):
        rows, cols = _star_box(star)
        along_r = np.exp(-0.5 * ((rows - star.row) / star.sigma) ** 2)
        along_c = np.exp(-0.5 * ((cols - star.column) / star.sigma) ** 2)
        light[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] += star.peak * np.outer(
            along_r, along_c
        )
    noise = read_noise(seed, frame, ccd, side, ROWS, COLUMNS)
    return np.clip(np.rint(light) + noise, 0, MAX_ADU).astype(np.uint16)


def test_every_pixel_is_bias_sky_and_stars_rounded_plus_the_read_noise(
    full_side: np.ndarray,
) -> None:
    assert np.array_equal(full_side, _reference_side(11, 5, 3, Side.F))


def test_where_two_stars_nearly_touch_both_add_up() -> None:
    seed = 354  # CCD 1 side E of this seed has two stars 3.6 pixels apart
    found = stars(seed, 1, Side.E)
    closest = min(
        np.hypot(a.row - b.row, a.column - b.column)
        for i, a in enumerate(found)
        for b in found[i + 1 :]
    )
    assert closest < 5
    image = synthetic_image(seed, 2, 1, Side.E, ROWS, COLUMNS)
    assert np.array_equal(image, _reference_side(seed, 2, 1, Side.E))


def test_the_read_noise_is_white_and_changes_with_the_frame() -> None:
    window = (range(1000, 1400), range(0, COLUMNS))
    this = read_noise(11, 5, 3, Side.F, *window).astype(float)
    following = read_noise(11, 6, 3, Side.F, *window).astype(float)
    assert abs(this.mean()) < 0.05 and 4.9 < this.std() < 5.1
    assert abs(np.corrcoef(this.ravel(), following.ravel())[0, 1]) < 0.01
    along_row = np.corrcoef(this[:, :-1].ravel(), this[:, 1:].ravel())[0, 1]
    assert abs(along_row) < 0.01
    part = read_noise(11, 5, 3, Side.F, range(1200, 1201), range(7, 9))
    assert np.array_equal(part, this[200:201, 7:9])


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
