"""FITS cubes per CCD side from an observation's HDF5 files, brought up to date live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from framemaker import T0, make_frame

from controlroom.devices.camera.storage import CameraStorageError, FrameWriter, UnsafePathError
from controlroom.devices.camera.storage.fits import FitsCubes, utc_iso

SIDES = ((1, "E"), (1, "F"), (3, "E"))


def _cube(path: Path) -> tuple[fits.Header, np.ndarray, fits.FITS_rec]:
    with fits.open(path) as hdus:
        return hdus[0].header, hdus[0].data.copy(), hdus["TIMES"].data.copy()


def test_cubes_hold_each_side_with_headers_and_times(tmp_path: Path) -> None:
    frames = [make_frame(i, sides=SIDES) for i in range(5)]
    with FrameWriter(tmp_path / "h5", queue_frames=8) as writer:
        for frame in frames:
            writer.put(frame, block=True)
    cubes = FitsCubes(tmp_path / "h5", "OBS_0001", tmp_path / "fits", frames_per_file=2)
    written = cubes.update()
    names = sorted(p.name for p in written)
    assert names == sorted(f"OBS_0001_ccd{c}_{s}_{b:04d}.fits" for c, s in SIDES for b in (1, 2, 3))
    header, data, times = _cube(cubes.cube_path((1, "F"), 2))
    assert data.dtype == np.uint16 and data.shape == (2, 40, 30)
    assert np.array_equal(data[0], frames[2].images[(1, "F")])
    assert np.array_equal(data[1], frames[3].images[(1, "F")])
    assert (header["OBSID"], header["CCD"], header["SIDE"]) == ("OBS_0001", 1, "F")
    assert header["DATE-OBS"] == utc_iso(T0 + 2 * 6.25) == "2026-01-01T12:00:12.500000"
    assert header["DATE-END"] == utc_iso(T0 + 3 * 6.25)
    assert (header["FRAME0"], header["FRAME1"], header["NFRAMES"], header["BLOCK"]) == (2, 3, 2, 2)
    assert list(times["FRAME"]) == [2, 3] and list(times["TIMECODE"]) == [2, 3]
    assert list(times["RECEIVED"]) == [utc_iso(T0 + 12.5), utc_iso(T0 + 18.75)]
    _, last, _ = _cube(cubes.cube_path((3, "E"), 3))
    assert last.shape == (1, 40, 30) and np.array_equal(last[0], frames[4].images[(3, "E")])


def test_update_adds_the_frames_written_since_the_last_call(tmp_path: Path) -> None:
    root, out = tmp_path / "h5", tmp_path / "fits"
    frames = [make_frame(i, sides=((2, "E"),)) for i in range(6)]
    cubes = FitsCubes(root, "OBS_0001", out, frames_per_file=4)
    with FrameWriter(root, queue_frames=8) as writer:  # the file stays open for writing
        for frame in frames[:3]:
            writer.put(frame, block=True)
        assert writer.drain(60)
        assert cubes.update() == [cubes.cube_path((2, "E"), 1)]
        assert _cube(cubes.cube_path((2, "E"), 1))[1].shape == (3, 40, 30)
        assert cubes.update() == []  # nothing new
        for frame in frames[3:]:
            writer.put(frame, block=True)
        assert writer.drain(60)
        assert cubes.update() == [cubes.cube_path((2, "E"), 1), cubes.cube_path((2, "E"), 2)]
    _, first, times = _cube(cubes.cube_path((2, "E"), 1))
    _, second, _ = _cube(cubes.cube_path((2, "E"), 2))
    assert list(times["FRAME"]) == [0, 1, 2, 3]
    stacked = np.concatenate([first, second])
    assert np.array_equal(stacked, np.stack([f.images[(2, "E")] for f in frames]))
    assert not list(out.glob("*.partial"))


def test_geometry_changes_cut_frames_and_later_parts(tmp_path: Path) -> None:
    root = tmp_path / "h5"
    full = [make_frame(0), make_frame(1)]
    partial = make_frame(2, shape=(10, 30))  # a partial readout: fewer rows
    cut = make_frame(3, complete=False)  # the end of its readout never came
    with FrameWriter(root, queue_frames=8) as writer:
        for frame in [*full, partial, cut]:
            writer.put(frame, block=True)
    with FrameWriter(root, queue_frames=8) as writer:  # a restarted writer: part 002
        writer.put(make_frame(4), block=True)
    cubes = FitsCubes(root, "OBS_0001", tmp_path / "fits", frames_per_file=10)
    cubes.update()
    _, first, t1 = _cube(cubes.cube_path((1, "E"), 1))
    _, second, t2 = _cube(cubes.cube_path((1, "E"), 2))
    _, third, t3 = _cube(cubes.cube_path((1, "E"), 3))
    assert [list(t["FRAME"]) for t in (t1, t2, t3)] == [[0, 1], [2], [4]]
    assert first.shape == (2, 40, 30) and second.shape == (1, 10, 30)
    assert np.array_equal(third[0], make_frame(4).images[(1, "E")])


def test_names_stay_in_the_output_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        FitsCubes(tmp_path, "../OBS", tmp_path / "fits")
    with pytest.raises(CameraStorageError, match="frames_per_file"):
        FitsCubes(tmp_path, "OBS", tmp_path / "fits", frames_per_file=0)
