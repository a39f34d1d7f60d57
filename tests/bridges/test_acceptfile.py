"""AcceptFile: acknowledgements are written atomically and read back."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlroom.bridges import AcceptError, AcceptFile, parse_status, read_status

WHEN = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def accept(tmp_path: Path) -> AcceptFile:
    return AcceptFile(tmp_path / "accept.eot")


def test_an_acknowledgement_is_read_back(accept: AcceptFile) -> None:
    status = parse_status(b"coffee\nposition: 3\n", sequence=7)
    written = accept.acknowledge(status, "alice", when=WHEN)
    assert accept.read() == written
    assert (written.value, written.who, written.sequence) == ("coffee", "alice", 7)
    assert written.sha256 == status.sha256
    assert written.to_json()["when"] == "2026-11-01T09:30:00Z"


def test_the_first_line_is_the_accepted_value_as_in_the_seed(accept: AcceptFile) -> None:
    accept.acknowledge(parse_status(b"3\n", sequence=2), "bob", when=WHEN)
    lines = accept.path.read_text().splitlines()
    assert lines[0] == "3"
    assert read_status(accept.path).fields["who"] == "bob"


def test_each_acknowledgement_replaces_the_file_in_one_rename(
    accept: AcceptFile, tmp_path: Path
) -> None:
    accept.acknowledge(parse_status(b"one", sequence=1), "alice")
    first_inode = os.stat(accept.path).st_ino
    accept.acknowledge(parse_status(b"two", sequence=2), "bob")
    assert os.stat(accept.path).st_ino != first_inode  # a new file renamed over the old one
    assert os.listdir(tmp_path) == ["accept.eot"]  # no temporary file left behind
    assert os.stat(accept.path).st_mode & 0o777 == 0o644
    read = accept.read()
    assert read is not None and (read.value, read.who) == ("two", "bob")


def test_nothing_recorded_yet_reads_as_none(accept: AcceptFile) -> None:
    assert accept.read() is None


def test_a_missing_status_cannot_be_acknowledged(accept: AcceptFile, tmp_path: Path) -> None:
    with pytest.raises(AcceptError, match="nothing to acknowledge: the status is missing"):
        accept.acknowledge(read_status(tmp_path / "absent"), "alice")
    assert not accept.path.exists()


@pytest.mark.parametrize("who", ["", "   ", "eve\nwho: mallory", "x" * 129])
def test_a_bad_name_is_refused(accept: AcceptFile, who: str) -> None:
    with pytest.raises(AcceptError, match="who must be"):
        accept.acknowledge(parse_status(b"coffee", sequence=1), who)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    accept = AcceptFile(tmp_path / "gone" / "accept.eot")
    with pytest.raises(AcceptError, match="gone is not a directory"):
        accept.acknowledge(parse_status(b"coffee", sequence=1), "alice")


def test_a_malformed_accept_file_names_what_is_missing(accept: AcceptFile) -> None:
    accept.path.write_text("coffee\nwho: alice\n")
    with pytest.raises(AcceptError, match="lacks when, sequence, sha256"):
        accept.read()
    accept.path.write_text("coffee\nwho: a\nwhen: yesterday\nsequence: 1\nsha256: 00\n")
    with pytest.raises(AcceptError, match="yesterday"):
        accept.read()


def test_with_a_root_the_accept_file_is_written_and_read_only_under_it(tmp_path: Path) -> None:
    root, outside = tmp_path / "data", tmp_path / "private"
    (root / "lab").mkdir(parents=True)
    outside.mkdir()
    status = parse_status(b"coffee\n", sequence=1)
    inside = AcceptFile(root / "lab" / "accept.eot", root=root)
    assert inside.acknowledge(status, "alice", when=WHEN) == inside.read()
    (root / "out").symlink_to(outside)
    for path in (outside / "accept.eot", root / "out" / "accept.eot", root / ".." / "x"):
        with pytest.raises(AcceptError, match="outside the data directory"):
            AcceptFile(path, root=root).acknowledge(status, "mallory")
    assert list(outside.iterdir()) == []
    (outside / "accept.eot").write_text("coffee\nwho: eve\n")
    with pytest.raises(AcceptError, match="outside the data directory"):
        AcceptFile(root / "out" / "accept.eot", root=root).read()
