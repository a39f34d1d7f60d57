"""The status file format: a value line, key: value fields, clear errors."""

from __future__ import annotations

from pathlib import Path

from controlroom.bridges import parse_status, read_status
from controlroom.bridges.statuscontent import MAX_BYTES


def test_the_seeds_one_value_file() -> None:
    content = parse_status(b"3\n")
    assert (content.state, content.value, content.text, content.fields) == ("ok", "3", "3", {})


def test_fields_and_value_are_separated() -> None:
    content = parse_status(b"coffee\nposition: 3\n set_by :  teensy \n\nnote\n")
    assert content.value == "coffee"
    assert content.fields == {"position": "3", "set_by": "teensy"}
    assert content.text == "coffee\nposition: 3\n set_by :  teensy \n\nnote"


def test_a_time_of_day_is_a_value_not_a_field() -> None:
    content = parse_status(b"12:30\n")
    assert (content.value, content.fields) == ("12:30", {})


def test_the_last_field_of_a_name_wins_and_a_fields_only_file_has_no_value() -> None:
    content = parse_status(b"mode: a\nmode: b\n")
    assert (content.value, content.fields) == ("", {"mode": "b"})


def test_the_digest_follows_the_bytes() -> None:
    assert parse_status(b"a").sha256 == parse_status(b"a").sha256
    assert parse_status(b"a").sha256 != parse_status(b"a\n").sha256


def test_bytes_that_are_not_utf8_are_an_error_naming_the_byte() -> None:
    content = parse_status(b"ok\xff")
    assert content.state == "error"
    assert content.error == "status file is not UTF-8: byte 2 is 0xff"


def test_a_huge_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "status.eot"
    path.write_bytes(b"x" * (MAX_BYTES + 10))
    content = read_status(path)
    assert content.state == "error"
    assert "larger than" in (content.error or "")


def test_a_missing_file_and_an_unreadable_one(tmp_path: Path) -> None:
    assert read_status(tmp_path / "absent").state == "missing"
    unreadable = read_status(tmp_path)  # a directory cannot be read as a file
    assert unreadable.state == "error"
    assert str(tmp_path) in (unreadable.error or "")


def test_to_json_is_plain_data() -> None:
    data = parse_status(b"coffee\nposition: 3\n", sequence=4).to_json()
    assert data["sequence"] == 4
    assert data["fields"] == {"position": "3"}
    assert data["read_at"].endswith("Z")
    assert set(data) == {
        "sequence",
        "state",
        "text",
        "value",
        "fields",
        "error",
        "sha256",
        "read_at",
    }


def test_with_a_root_only_a_file_under_it_is_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "data", tmp_path / "shadow"
    root.mkdir()
    outside.write_text("root:$6$secret\n")
    (root / "ok.eot").write_text("coffee\n")
    (root / "link.eot").symlink_to(outside)
    assert read_status(root / "ok.eot", root=root).value == "coffee"
    for path in (outside, root / "link.eot", root / ".." / "shadow"):
        content = read_status(path, root=root)
        assert (content.state, content.text) == ("error", "")
        assert "is outside the data directory" in (content.error or "")
        assert "secret" not in (content.error or "")
    assert read_status(root / "link.eot").text == "root:$6$secret"  # no root: no confinement
