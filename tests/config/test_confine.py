"""Files a Setup names stay under the data directory: absolute paths, ``..`` and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controlroom.config.confine import (
    PathOutsideRoot,
    UnresolvablePath,
    confined,
    data_files,
    resolve_inside,
)
from controlroom.config.setup import Setup

SECRET = "root:$6$do-not-print"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The data directory, next to a mode-600 file it must not lead to."""
    (tmp_path / "data" / "lab").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    return tmp_path / "data"


def refusal(value: object, data: Path, key: str = "web.status_file") -> str:
    with pytest.raises(PathOutsideRoot) as caught:
        confined(value, data, key)
    message = str(caught.value)
    assert SECRET not in message
    assert message.startswith(f"{key}")
    return message


def test_a_relative_path_is_under_the_data_directory(data: Path) -> None:
    assert confined("lab/status.txt", data, "web.status_file") == data / "lab" / "status.txt"
    assert confined(data / "lab" / "x", data, "web.accept_file") == data / "lab" / "x"
    assert confined("lab/../lab/x", data, "web.accept_file") == data / "lab" / "x"


def test_an_absolute_path_elsewhere_is_refused(data: Path) -> None:
    message = refusal(str(data.parent / "secret"), data)
    assert "is outside the data directory" in message
    assert refusal("/etc/shadow", data, "web.accept_file").startswith("web.accept_file: ")


@pytest.mark.parametrize("value", ["../secret", "lab/../../secret", "..", ".", ""])
def test_dot_dot_out_of_the_data_directory_is_refused(data: Path, value: str) -> None:
    refusal(value, data)


def test_a_symlink_leading_out_is_refused(data: Path) -> None:
    (data / "lab" / "status.txt").symlink_to(data.parent / "secret")
    (data / "out").symlink_to(data.parent)
    refusal("lab/status.txt", data)
    refusal("out/secret", data)
    refusal("out/new-file", data)  # a file to be written, through a directory link


def test_a_symlink_inside_the_data_directory_is_followed(data: Path) -> None:
    (data / "lab" / "real.txt").write_text("ok")
    (data / "lab" / "status.txt").symlink_to("real.txt")
    assert confined("lab/status.txt", data, "web.status_file") == data / "lab" / "real.txt"


def test_a_symlinked_data_directory_is_resolved_too(data: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(data)
    assert confined("lab/x", tmp_path / "link", "k") == data / "lab" / "x"


def test_what_is_not_a_path_is_refused(data: Path) -> None:
    assert refusal(42, data) == "web.status_file must be a path, not 42"
    assert "cannot resolve" in refusal("lab/\0x", data)


def test_the_setup_keys_are_checked_as_written(data: Path, tmp_path: Path) -> None:
    setup = Setup({"web": {"status_file": "lab/s.txt", "accept_file": "env//HOME"}})
    assert data_files(setup, data) == {
        "web.status_file": data / "lab" / "s.txt",
        "web.accept_file": data / "env" / "HOME",  # a directive is not resolved here
    }
    assert data_files({"devices": {}}, data) == {"web.status_file": None, "web.accept_file": None}
    bad = {"web": {"status_file": "lab/s.txt", "accept_file": str(tmp_path / "secret")}}
    with pytest.raises(PathOutsideRoot, match=r"^web\.accept_file: "):
        data_files(bad, data)
    with pytest.raises(PathOutsideRoot, match=r"^web must be a mapping"):
        data_files({"web": ["x"]}, data)


def test_a_symlink_loop_is_refused(data: Path) -> None:
    os.symlink("loop", data / "loop")
    refusal("loop/x", data)


def test_a_path_may_lie_in_any_of_several_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (second / "cal").mkdir(parents=True)
    assert resolve_inside(second / "cal" / "x.csv", [first, second]) == second / "cal" / "x.csv"
    with pytest.raises(PathOutsideRoot) as caught:
        resolve_inside(tmp_path / "x.csv", [first, second])
    assert caught.value.roots == (first, second)
    assert caught.value.listed_roots == f"{first}, {second}"
    with pytest.raises(PathOutsideRoot, match="outside none"):
        resolve_inside(second / "cal", [])


def test_a_folder_itself_is_not_inside_it(tmp_path: Path) -> None:
    with pytest.raises(PathOutsideRoot):
        resolve_inside(tmp_path / ".", [tmp_path])


def test_a_path_that_cannot_be_resolved_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(UnresolvablePath, match="cannot resolve") as caught:
        resolve_inside(tmp_path / "loop" / "x", [tmp_path])
    assert isinstance(caught.value.cause, OSError | RuntimeError)
