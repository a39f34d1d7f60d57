"""The camera preview PNG: read back chunk by chunk (camera_views.read_png), CRCs checked,
pixels compared."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from camera_views import read_png

from controlroom.devices.camera.preview import (
    FLAT_GREY,
    PreviewError,
    cut_levels,
    encode_png,
    image_pixels,
    image_png,
    to_gray,
)


def latest_image(array: np.ndarray, **extra: Any) -> dict[str, Any]:
    """An answer shaped like the DPU control server's ``latest_image``."""
    return {
        "frame_counter": 12,
        "ccd": 2,
        "side": "F",
        "shape": list(array.shape),
        "binning": 1,
        "min": int(array.min()),
        "max": int(array.max()),
        "pixels": array.astype("<u2").tobytes(),
        **extra,
    }


def test_encode_png_round_trips_every_pixel() -> None:
    gray = np.random.default_rng(3).integers(0, 256, (37, 51), dtype=np.uint8)
    header, back = read_png(encode_png(gray))
    assert header == {"width": 51, "height": 37, "depth": 8, "colour": 0}
    assert np.array_equal(back, gray)


def test_minmax_stretch_maps_the_range_onto_0_255() -> None:
    pixels = np.array([[1000, 1500, 2000], [1250, 1750, 1000]], np.uint16)
    _, gray = read_png(image_png(latest_image(pixels), stretch="minmax"))
    expected = np.rint((pixels.astype(float) - 1000) * 255 / 1000).astype(np.uint8)
    assert np.array_equal(gray, expected)
    assert gray[0, 0] == 0 and gray[0, 2] == 255 and gray[0, 1] == 128


def test_percentile_stretch_clips_hot_pixels() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(1000, 1100, (100, 100)).astype(np.uint16)
    pixels[50, 50] = 65535  # one hot pixel must not squeeze the sky into a few grey levels
    low, high = cut_levels(pixels, "percentile", 1.0, 99.0)
    assert 1000 <= low < high < 1100
    gray = to_gray(pixels, "percentile", 1.0, 99.0)
    assert gray[50, 50] == 255
    assert len(np.unique(gray)) > 90  # the sky's 100 levels keep their contrast
    minmax = to_gray(pixels, "minmax")
    assert len(np.unique(minmax)) <= 3  # what the percentiles avoid


def test_a_flat_image_is_mid_grey() -> None:
    pixels = np.full((4, 6), 777, np.uint16)
    _, gray = read_png(image_png(latest_image(pixels)))
    assert gray.shape == (4, 6) and (gray == FLAT_GREY).all()


def test_pixels_are_little_endian_row_major() -> None:
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    assert np.array_equal(image_pixels(latest_image(pixels)), pixels)
    big_endian = latest_image(pixels, pixels=pixels.astype(">u2").tobytes())
    assert not np.array_equal(image_pixels(big_endian), pixels)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"shape": [3]}, "shape"),
        ({"shape": [3, "4"]}, "columns"),
        ({"shape": [0, 4]}, "rows 0"),
        ({"shape": [3, 9000]}, "columns 9000"),
        ({"pixels": "text"}, "pixels"),
        ({"pixels": b"\x00" * 23}, "23 bytes"),
    ],
)
def test_bad_answers_are_refused_naming_the_field(change: dict[str, Any], names: str) -> None:
    image = latest_image(np.zeros((3, 4), np.uint16), **change)
    with pytest.raises(PreviewError, match=names):
        image_png(image)


def test_bad_stretches_are_refused() -> None:
    image = latest_image(np.zeros((3, 4), np.uint16))
    with pytest.raises(PreviewError, match="stretch"):
        image_png(image, stretch="log")
    with pytest.raises(PreviewError, match="percentiles"):
        image_png(image, low_pct=50, high_pct=10)
    with pytest.raises(PreviewError, match="map"):
        image_png([1, 2])  # type: ignore[arg-type]
