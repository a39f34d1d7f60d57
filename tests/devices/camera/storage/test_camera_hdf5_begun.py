"""Frames announced when their readout begins; the format version; files never seen half made."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from framemaker import digest, make_frame

from controlroom.devices.camera.storage import (
    CameraStorageError,
    Frame,
    FrameBegun,
    FrameFileReader,
    FrameWriter,
    InvalidFrameError,
    PutStatus,
    observation_files,
)
from controlroom.devices.camera.storage.frames import SLOTS
from controlroom.devices.camera.storage.hdf5file import FrameFile
from controlroom.devices.camera.storage.hdf5layout import FORMAT


def begun(frame: Frame) -> FrameBegun:
    return FrameBegun(frame.obsid, frame.frame_counter, frame.timecode, frame.received_s, frame.hk)


def test_a_begun_frame_is_completed_in_its_own_row(tmp_path: Path) -> None:
    frames = [make_frame(i) for i in range(3)]
    with FrameWriter(tmp_path, queue_frames=4) as writer:
        for frame in frames:
            assert writer.begin(begun(frame)) is PutStatus.QUEUED
            assert writer.put(frame, block=True) is PutStatus.QUEUED
    [path] = observation_files(tmp_path, "OBS_0001")
    with FrameFileReader(path) as reader:
        assert [(e.frame_counter, e.whole) for e in reader.entries()] == [(0, 1), (1, 1), (2, 1)]
        stored = list(reader.iter_complete())
    assert [digest(f) for f in stored] == [digest(f) for f in frames]
    assert [(f.num_cycles, f.hk_readback) for f in stored] == [
        (f.num_cycles, f.hk_readback) for f in frames
    ]
    with h5py.File(path, "r") as raw:  # the HK was written once per frame, at its start
        assert raw["bytes/hk"].shape == (3 * 64,)
    assert not list(tmp_path.rglob("*.making"))


def test_a_frame_begun_and_never_stored_stays_cut_with_its_housekeeping(tmp_path: Path) -> None:
    frames = [make_frame(i) for i in range(4)]
    with FrameWriter(tmp_path, queue_frames=4) as writer:
        writer.put(frames[0], block=True)
        writer.begin(begun(frames[1]))  # its readout never came to storage
        writer.begin(begun(frames[2]))
        writer.put(frames[2], block=True)
        writer.begin(begun(frames[3]))  # the process stops mid-readout
    [path] = observation_files(tmp_path, "OBS_0001")
    with FrameFileReader(path) as reader:
        entries = reader.entries()
        assert [(e.frame_counter, e.written, e.whole) for e in entries] == [
            (0, True, True), (1, False, False), (2, True, True), (3, False, False),
        ]  # fmt: skip
        assert [digest(f) for f in reader.iter_complete()] == [
            digest(frames[0]),
            digest(frames[2]),
        ]
        for position in (1, 3):
            assert reader.housekeeping(position) == frames[position].hk
            with pytest.raises(CameraStorageError, match=f"frame {position} was cut"):
                reader.read(position)


def test_a_start_the_queue_cannot_take_is_counted_and_its_frame_still_stored(
    tmp_path: Path,
) -> None:
    frames = [make_frame(i) for i in range(2)]
    writer = FrameWriter(tmp_path, queue_frames=1)  # not started: the queue stays full
    assert writer.begin(begun(frames[0])) is PutStatus.QUEUED
    assert writer.put(frames[0]) is PutStatus.QUEUED  # a start takes no frame's place
    assert writer.begin(begun(frames[1])) is PutStatus.BEHIND
    assert writer.put(frames[1]) is PutStatus.BEHIND
    stats = writer.stats
    assert (stats.begins_lost, stats.behind_events, stats.queue_depth) == (1, 1, 1)
    writer.start()
    assert writer.put(frames[1], block=True, timeout=30.0) is PutStatus.QUEUED
    writer.close()
    [path] = observation_files(tmp_path, "OBS_0001")
    with FrameFileReader(path) as reader:
        assert [digest(f) for f in reader.iter_complete()] == [digest(f) for f in frames]
    with pytest.raises(CameraStorageError, match="begin\\(\\) takes a FrameBegun"):
        writer.begin(frames[0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timecode": 64}, "timecode"),
        ({"hk": "text"}, "hk"),
        ({"frame_counter": -1}, "frame_counter"),
    ],
)
def test_a_bad_start_is_refused_by_name(change: dict, field: str) -> None:
    fields = {"obsid": None, "frame_counter": 1, "timecode": 1, "received_s": 1e9, "hk": b""}
    with pytest.raises(InvalidFrameError, match=f"^{field}"):
        FrameBegun(**(fields | change))


def _version_1_file(path: Path, frame: Frame) -> None:
    """A file as format version 1 wrote it: no HK read-back, no num_cycles."""
    blobs = ("hk", "register_map", "commands")
    dtype = np.dtype(
        [
            ("frame_counter", "<i8"), ("timecode", "u1"), ("received_s", "<f8"),
            ("written", "u1"), ("complete", "u1"),
            *[(blob, "<i8", (2,)) for blob in blobs],
            *[(kind, "<i8", (len(SLOTS), 3)) for kind in ("images", "overscan")],
        ]
    )  # fmt: skip
    data = {
        "hk": np.frombuffer(frame.hk, np.uint8),
        "register_map": frame.register_map,
        "commands": np.frombuffer(json.dumps(frame.commands).encode(), np.uint8),
    }
    row = np.zeros((), dtype)
    row["frame_counter"], row["timecode"], row["received_s"] = 5, 5, frame.received_s
    row["written"] = row["complete"] = 1
    row["images"] = row["overscan"] = -1
    with h5py.File(path, "w", libver="latest") as file:
        file.attrs.update(format=FORMAT, format_version=1, obsid="OBS_0001")
        for blob in blobs:
            file[f"bytes/{blob}"] = data[blob]
            row[blob] = (0, data[blob].size)
        for kind in ("images", "overscan"):
            for ccd, side in SLOTS:
                file.create_dataset(f"{kind}/ccd{ccd}_{side}", (0,), "<u2")
        file["index"] = np.array([row])


def test_files_of_format_version_1_are_read_and_newer_ones_refused(tmp_path: Path) -> None:
    frame = make_frame(5, sides=())
    _version_1_file(tmp_path / "old.h5", frame)
    with FrameFileReader(tmp_path / "old.h5") as reader:
        assert reader.format_version == 1
        old = reader.read(0)
    assert (old.hk, old.commands, old.hk_readback, old.num_cycles) == (
        frame.hk, frame.commands, b"", None,
    )  # fmt: skip
    assert np.array_equal(old.register_map, frame.register_map)
    newer = FrameFile(tmp_path / "new.h5", None)
    newer.close()
    with h5py.File(tmp_path / "new.h5", "a") as file:
        file.attrs["format_version"] = 99
    with pytest.raises(
        CameraStorageError, match="format version 99; this controlroom reads 1 to 2"
    ):
        FrameFileReader(tmp_path / "new.h5")


def test_a_new_file_never_takes_the_place_of_another(tmp_path: Path) -> None:
    taken = tmp_path / "taken.h5"
    taken.write_bytes(b"not ours")
    with pytest.raises(FileExistsError):
        FrameFile(taken, None)
    assert taken.read_bytes() == b"not ours" and not list(tmp_path.glob("*.making"))
