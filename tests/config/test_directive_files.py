"""``yaml//`` and ``csv//`` read only inside the Setup's folder and the configured roots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controlroom.config import directives
from controlroom.config.errors import DirectiveError
from controlroom.config.navdict import NavigableDict
from controlroom.config.settings import load_settings
from controlroom.config.setup import Setup

SECRET_LINES = ["root:x:0:0:root:/root:/bin/bash", "token: hunter2-do-not-print"]


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """``lab/setups`` holds the Setup; ``lab/outside`` holds what it must not read."""
    (tmp_path / "setups" / "calibration").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for name in ("passwd", "x", "secret.csv", "secret.yaml"):
        (tmp_path / "outside" / name).write_text("\n".join(SECRET_LINES) + "\n")
    (tmp_path / "setups" / "calibration" / "curve.csv").write_text("T,R\n1,2\n3,4\n")
    (tmp_path / "setups" / "calibration" / "heater.yaml").write_text("curve: csv//curve.csv\n")
    return tmp_path


def refusal(setup: NavigableDict, key: str) -> str:
    with pytest.raises(DirectiveError) as caught:
        setup.cal[key]
    message = str(caught.value)
    for fragment in (*SECRET_LINES, "root:x", "/bin/bash", "hunter2"):
        assert fragment not in message, f"{fragment!r} of the refused file is in {message!r}"
    return message


@pytest.mark.parametrize(
    "name",
    [
        "csv///etc/passwd",
        "yaml///etc/passwd",
        "csv//{outside}/passwd",
        "yaml//../../x",
        "yaml//../outside/secret.yaml",
        "csv//calibration/../../outside/secret.csv",
    ],
)
def test_a_file_outside_the_setup_folder_is_refused(lab: Path, name: str) -> None:
    folder = lab / "setups" / "calibration"  # `../../x` from here is lab/x
    (lab / "x").write_text("\n".join(SECRET_LINES) + "\n")
    directive = name.format(outside=lab / "outside")
    setup = NavigableDict({"cal": {"table": directive}}, source_dir=folder)
    message = refusal(setup, "table")
    assert message.startswith(f"cal.table: {directive}: outside the folders")


@pytest.mark.parametrize("kind", ["csv", "yaml"])
def test_a_symlink_in_the_setup_folder_pointing_outside_is_refused(lab: Path, kind: str) -> None:
    folder = lab / "setups"
    (folder / f"link.{kind}").symlink_to(lab / "outside" / f"secret.{kind}")
    setup = NavigableDict({"cal": {"t": f"{kind}//link.{kind}"}}, source_dir=folder)
    assert "outside the folders" in refusal(setup, "t")


def test_a_symlinked_folder_inside_the_setup_folder_is_followed_before_checking(
    lab: Path,
) -> None:
    (lab / "setups" / "elsewhere").symlink_to(lab / "outside", target_is_directory=True)
    setup = NavigableDict({"cal": {"t": "csv//elsewhere/secret.csv"}}, source_dir=lab / "setups")
    assert "outside the folders" in refusal(setup, "t")


def test_a_missing_file_outside_says_outside_not_missing(lab: Path) -> None:
    setup = NavigableDict({"cal": {"t": "csv//../nothing.csv"}}, source_dir=lab / "setups")
    assert "outside the folders" in refusal(setup, "t")


def test_relative_files_in_and_below_the_setup_folder_work(lab: Path) -> None:
    (lab / "setups" / "top.csv").write_text("5,6\n")
    setup = NavigableDict(
        {"cal": {"heater": "yaml//calibration/heater.yaml", "top": "csv//top.csv"}},
        source_dir=lab / "setups",
    )
    assert setup.cal.top.tolist() == [[5.0, 6.0]]
    # Inside the yaml file, csv// is relative to that file's own folder.
    np.testing.assert_array_equal(setup.cal.heater.curve, [[1, 2], [3, 4]])
    absolute = NavigableDict(
        {"cal": {"t": f"csv//{lab}/setups/top.csv"}}, source_dir=lab / "setups"
    )
    assert absolute.cal.t.tolist() == [[5.0, 6.0]]


def test_a_file_of_a_yaml_file_may_go_up_but_not_out_of_the_setup_folder(lab: Path) -> None:
    (lab / "setups" / "top.csv").write_text("5,6\n")
    (lab / "setups" / "calibration" / "up.yaml").write_text(
        "ok: csv//../top.csv\nout: csv//../../outside/secret.csv\n"
    )
    setup = NavigableDict({"cal": {"up": "yaml//calibration/up.yaml"}}, source_dir=lab / "setups")
    assert setup.cal.up.ok.tolist() == [[5.0, 6.0]]
    with pytest.raises(
        DirectiveError,
        match=r"^cal\.up\.out: csv//\.\./\.\./outside/secret\.csv: outside the folders",
    ):
        _ = setup.cal.up.out


def test_the_configured_roots_are_allowed_too(lab: Path) -> None:
    data = lab / "data"
    data.mkdir()
    (data / "gains.csv").write_text("7,8\n")
    setup = Setup.from_dict(
        {"cal": {"t": f"csv//{data}/gains.csv", "s": "csv//../outside/secret.csv"}},
        source_dir=lab / "setups",
        file_roots=[data],
    )
    assert setup.cal.t.tolist() == [[7.0, 8.0]]
    assert "outside the folders" in refusal(setup, "s")
    copied = setup.stamped(setup.meta)  # a copy keeps the roots
    assert copied.cal.t.tolist() == [[7.0, 8.0]]


def test_a_setup_from_a_file_reads_next_to_it_and_not_beyond(lab: Path) -> None:
    path = lab / "setups" / "SETUP_LAB_00001.yaml"
    path.write_text("cal:\n  heater: yaml//calibration/heater.yaml\n  s: csv//../outside/x\n")
    setup = Setup.from_yaml_file(path)
    np.testing.assert_array_equal(setup.cal.heater.curve, [[1, 2], [3, 4]])
    assert "outside the folders" in refusal(setup, "s")


@pytest.mark.parametrize("kind", ["csv", "yaml"])
def test_a_file_larger_than_the_limit_is_refused(
    lab: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directives, "MAX_FILE_BYTES", 64)
    (lab / "setups" / f"big.{kind}").write_text("# " + "1" * 100 + "\n")
    (lab / "setups" / f"small.{kind}").write_text("a: 1\n" if kind == "yaml" else "1,2\n")
    setup = NavigableDict(
        {"cal": {"big": f"{kind}//big.{kind}", "small": f"{kind}//small.{kind}"}},
        source_dir=lab / "setups",
    )
    with pytest.raises(
        DirectiveError,
        match=rf"^cal\.big: {kind}//big\.{kind}: 103 bytes, more than the limit of 64",
    ):
        _ = setup.cal.big
    assert setup.cal.small is not None


def test_a_csv_error_names_the_line_but_never_quotes_it(lab: Path) -> None:
    (lab / "setups" / "bad.csv").write_text("T,R\n1,2\nhunter2,secret\n")
    setup = NavigableDict({"cal": {"t": "csv//bad.csv"}}, source_dir=lab / "setups")
    with pytest.raises(DirectiveError, match=r"bad\.csv:3: not a row of numbers") as caught:
        _ = setup.cal.t
    assert "hunter2" not in str(caught.value) and "secret" not in str(caught.value)


def test_settings_read_files_from_the_data_location_only(
    lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = lab / "data"
    data.mkdir()
    (data / "gains.csv").write_text("7,8\n")
    local = lab / "settings.local.yaml"
    local.write_text(
        f"locations: {{data: '{data}'}}\n"
        f"x_lab:\n  gains: csv//{data}/gains.csv\n  secret: csv//{lab}/outside/secret.csv\n"
    )
    monkeypatch.chdir(lab / "setups")
    settings = load_settings(local)
    assert settings.x_lab.gains.tolist() == [[7.0, 8.0]]
    with pytest.raises(DirectiveError, match=r"^x_lab\.secret: csv//.*outside the folders"):
        _ = settings.x_lab.secret
