"""The top-level help page, drawn without Rich: every option and command, any width."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from controlroom.cli.main import SUBCOMMANDS, app
from controlroom.cli.tophelp import panel


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_every_line_fits_the_terminal_and_every_command_is_named(columns: int) -> None:
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": str(columns)})
    assert shown.exit_code == 0, shown.output
    boxed = [line for line in shown.output.splitlines() if line[:1] and line[0] in "╭│╰"]
    assert boxed and {len(line) for line in boxed} == {min(columns, 120)}
    for name in SUBCOMMANDS:
        assert f"│ {name} " in shown.output
    for option in ("--settings", "--debug", "--version", "-h, --help"):
        assert option in shown.output


def test_a_name_wider_than_its_column_gets_a_line_of_its_own() -> None:
    rows = [("short", "one"), ("a-very-long-option-name-indeed", "two words")]
    lines = panel("Options", rows, 40)
    assert lines[0].startswith("╭─ Options ") and lines[-1].startswith("╰")
    assert any("a-very-long-option-name-indeed"[:36] in line for line in lines)
    assert any(line.strip("│ ").endswith("two words") for line in lines)
    assert {len(line) for line in lines} == {40}


def test_no_rows_no_panel() -> None:
    assert panel("Options", [], 80) == []
