"""FrameWriter: frames back pixel-exact, one file per observation or hour, a full queue counted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import pytest
from framemaker import T0, digest, make_frame

from controlroom.devices.camera.storage import (
    CameraStorageError,
    FrameFileReader,
    FrameWriter,
    PutStatus,
    hdf5file,
    list_frames,
    observation_files,
)


def _write(root: Path, frames: list, **options: object) -> FrameWriter:
    writer = FrameWriter(root, queue_frames=4, **options)  # type: ignore[arg-type]
    with writer:
        for frame in frames:
            assert writer.put(frame, block=True) is PutStatus.QUEUED
    return writer


def _stored(path: Path) -> list[str]:
    with FrameFileReader(path) as reader:
        return [digest(frame) for frame in reader.iter_complete()]


def test_frames_are_read_back_exactly(tmp_path: Path) -> None:
    frames = [make_frame(i, sides=((1, "E"), (2, "F"), (4, "E"), (4, "F"))) for i in range(6)]
    writer = _write(tmp_path, frames, chunk_pixels=1024)  # frames straddle chunks
    [path] = observation_files(tmp_path, "OBS_0001")
    assert _stored(path) == [digest(f) for f in frames]
    with FrameFileReader(path) as reader:
        plain = reader.read_dict(2)
    assert plain["commands"] == [{"register": "v_start", "value": 2}]
    assert plain["images"]["ccd2_F"].tobytes() == frames[2].images[(2, "F")].tobytes()
    assert sorted(plain["overscan"]) == ["ccd1_E", "ccd2_F", "ccd4_E", "ccd4_F"]
    stats = writer.stats
    assert stats.frames_written == 6 and stats.frames_failed == 0
    assert stats.bytes_written == sum(f.nbytes for f in frames)


def test_frames_written_in_many_short_slices_are_read_back_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every heap write is cut into slices of 100 bytes: odd sizes, a short last slice.
    monkeypatch.setattr(hdf5file, "WRITE_SLICE_BYTES", 100)
    frames = [make_frame(i, sides=((1, "E"), (3, "F"))) for i in range(3)]
    _write(tmp_path, frames, chunk_pixels=1024)
    [path] = observation_files(tmp_path, "OBS_0001")
    assert _stored(path) == [digest(f) for f in frames]


@pytest.mark.parametrize("compression", ["gzip", "lz4"])
def test_compressed_frames_are_read_back_exactly(tmp_path: Path, compression: str) -> None:
    frames = [make_frame(i) for i in range(3)]
    _write(tmp_path, frames, compression=compression, chunk_pixels=1024)
    [path] = observation_files(tmp_path, "OBS_0001")
    assert _stored(path) == [digest(f) for f in frames]
    with h5py.File(path, "r", libver="latest", swmr=True) as raw:
        filters = raw["images/ccd1_E"]._filters
    assert ("gzip" if compression == "gzip" else "32004") in filters  # 32004: the lz4 filter


def test_an_unknown_compression_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(CameraStorageError, match="zstd"):
        FrameWriter(tmp_path, queue_frames=2, compression="zstd")


def test_one_file_per_observation_and_per_utc_hour_outside_one(tmp_path: Path) -> None:
    hour = 3600.0
    frames = [
        make_frame(0, obsid=None, received_s=T0 - 10),  # 11:59:50
        make_frame(1, obsid=None, received_s=T0 + 5),  # 12:00:05: a new hour
        make_frame(2, obsid="OBS_0002", received_s=T0 + 10),
        make_frame(3, obsid="OBS_0002", received_s=T0 + 12 * hour),  # past midnight: same file
        make_frame(4, obsid=None, received_s=T0 + 12 * hour + 1),
    ]
    _write(tmp_path, frames)
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.h5"))
    assert names == [
        "20260101/OBS_0002_camera.h5",
        "20260101/camera_20260101_11.h5",
        "20260101/camera_20260101_12.h5",
        "20260102/camera_20260102_00.h5",
    ]
    counters = [e.frame_counter for e in list_frames(tmp_path / names[0])]
    assert counters == [2, 3]
    with FrameFileReader(tmp_path / names[0]) as reader:
        assert reader.obsid == "OBS_0002" and reader.read(0).obsid == "OBS_0002"
    with FrameFileReader(tmp_path / names[1]) as reader:
        assert reader.obsid is None and reader.read(0).obsid is None


def test_a_second_writer_starts_a_new_part_and_never_reopens_a_file(tmp_path: Path) -> None:
    _write(tmp_path, [make_frame(0), make_frame(1)])
    _write(tmp_path, [make_frame(2)], fsync=True)
    files = observation_files(tmp_path, "OBS_0001")
    assert [p.name for p in files] == ["OBS_0001_camera.h5", "OBS_0001_camera_002.h5"]
    assert [[e.frame_counter for e in list_frames(p)] for p in files] == [[0, 1], [2]]


def test_files_stay_under_the_root_even_through_a_symbolic_link(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "20260101").symlink_to(outside)
    writer = _write(root, [make_frame(0)])
    assert writer.stats.frames_failed == 1 and writer.stats.frames_written == 0
    assert "outside the camera storage root" in writer.stats.last_error
    assert list(outside.iterdir()) == []


def test_a_full_queue_is_counted_and_nothing_is_dropped(tmp_path: Path) -> None:
    # Not started: the queue only fills. The clock keeps the lag of these frames under 10 s.
    writer = FrameWriter(tmp_path, queue_frames=2, clock=lambda: T0 + 20.0)
    frames = [make_frame(i) for i in range(3)]
    assert writer.put(frames[0]) is PutStatus.QUEUED
    assert writer.put(frames[1]) is PutStatus.QUEUED
    assert writer.put(frames[2]) is PutStatus.BEHIND  # refused, returned at once
    stats = writer.stats
    assert (stats.behind_events, stats.queue_depth, stats.lagging) == (1, 2, True)
    writer.start()
    assert writer.put(frames[2], block=True, timeout=60) is PutStatus.QUEUED  # the caller waits
    assert writer.drain(60)
    writer.close()
    assert writer.stats.frames_written == 3 and not writer.stats.lagging
    [path] = observation_files(tmp_path, "OBS_0001")
    assert _stored(path) == [digest(f) for f in frames]


def test_the_lag_from_reception_to_written_is_measured(tmp_path: Path) -> None:
    now = [T0 + 100.0]
    writer = FrameWriter(tmp_path, queue_frames=4, lag_alarm_s=30.0, clock=lambda: now[0])
    with writer:
        assert writer.stats.last_written_s == 0.0  # nothing written yet
        writer.put(make_frame(0, received_s=T0 + 40.0))  # written 60 s after reception
        assert writer.drain(60)
        assert writer.stats.max_lag_s == pytest.approx(60.0) and writer.lagging
        assert writer.stats.last_written_s == pytest.approx(T0 + 100.0)
        now[0] = T0 + 100.5
        writer.put(make_frame(1, received_s=T0 + 90.0))
        assert writer.drain(60)
    stats = writer.stats
    assert stats.last_lag_s == pytest.approx(10.5) and stats.max_lag_s == pytest.approx(60.0)
    assert stats.last_written_s == pytest.approx(T0 + 100.5)  # when the last one was written
    assert not stats.lagging


def test_a_frame_the_disk_refuses_is_counted_and_the_writer_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "20260101").write_text("a file where the date folder should be")
    day2 = make_frame(1, received_s=T0 + 86400.0)
    writer = _write(root, [make_frame(0), day2])
    stats = writer.stats
    assert (stats.frames_failed, stats.frames_written) == (1, 1)
    assert stats.last_error.startswith("frame 0:")
    assert [e.frame_counter for e in list_frames(root / "20260102" / "OBS_0001_camera.h5")] == [1]


def test_put_takes_frames_only_and_not_after_close(tmp_path: Path) -> None:
    writer = FrameWriter(tmp_path, queue_frames=2).start()
    with pytest.raises(CameraStorageError, match="Frame"):
        writer.put(dataclasses.asdict(make_frame(0)))  # type: ignore[arg-type]
    writer.close()
    with pytest.raises(CameraStorageError, match="closed"):
        writer.put(make_frame(0))


def test_a_file_that_is_not_a_camera_file_is_refused(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "other.h5", "w", libver="latest") as other:
        other["x"] = 1
    with pytest.raises(CameraStorageError, match="not a camera frames file"):
        FrameFileReader(tmp_path / "other.h5")


def test_the_reader_names_a_frame_or_side_it_does_not_have(tmp_path: Path) -> None:
    _write(tmp_path, [make_frame(0)])
    [path] = observation_files(tmp_path, "OBS_0001")
    with FrameFileReader(path) as reader:
        assert reader.pixels(0, "images", (2, "E")) is None  # not read out in this frame
        assert reader.pixel_shape(0, "overscan", (1, "F")) == (4, 30)
        with pytest.raises(CameraStorageError, match="no frame at position 1"):
            reader.read(1)
        with pytest.raises(CameraStorageError, match="no pixels 'bias'"):
            reader.pixels(0, "bias", (1, "E"))
