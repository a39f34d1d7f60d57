"""Start-up of the ``controlroom`` command: help from a table, modules imported on use."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from controlroom.cli.lazy import LazyGroup, Placeholder, help_line
from controlroom.cli.main import LOCAL_SETTINGS_ENV, SUBCOMMANDS, app
from controlroom.config import settings as config_settings

CLI_TIMEOUT_S = 60.0
NEVER_FOR_HELP = (
    "numpy",
    "fastapi",
    "uvicorn",
    "h5py",
    "controlroom.devices.camera",
    "controlroom.web",
)
"""Heavy modules no help page and no `call` needs."""
NOT_FOR_THE_TOP_HELP = (
    *NEVER_FOR_HELP,
    "rich",  # the top page is drawn without it (cli.tophelp)
    "typer.rich_utils",
    "markdown_it",
    "zmq",
    "msgpack",
    "yaml",
    "controlroom.rpc",
    "controlroom.processes",
    "controlroom.config",
    *sorted({subcommand.module for subcommand in SUBCOMMANDS.values()}),
)


def top_group() -> LazyGroup:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    return group


PROGRAM_THEN_MODULES = """
import sys
from pathlib import Path
from controlroom.cli.main import run
report, sys.argv = Path(sys.argv[1]), ["controlroom", *sys.argv[2:]]
try:
    run()
finally:
    report.write_text("\\n".join(sorted(sys.modules)))
"""
"""Run the command as its console script does, then list every module it imported.
(``-X importtime`` would miss the command modules: ``importlib`` imports them.)"""


def imported_by(scratch: Path, *args: str) -> set[str]:
    """Every module ``controlroom ARGS`` imports."""
    report = scratch / "modules.txt"
    argv = [sys.executable, "-c", PROGRAM_THEN_MODULES, str(report), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    return set(report.read_text().split())


def test_the_table_holds_each_subcommands_own_help_line() -> None:
    group = top_group()
    for name, subcommand in SUBCOMMANDS.items():
        real = group.load(name)
        assert not isinstance(real, Placeholder)
        assert subcommand.help == help_line(real), f"the help line of {name!r} drifted"
        assert (real.hidden, real.deprecated) == (False, False), name


def test_the_help_page_lists_every_subcommand_in_the_table_order() -> None:
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    rows = re.findall(r"^│ (\S+) ", shown.output, flags=re.MULTILINE)  # a row's first word
    assert [word for word in rows if not word.startswith("-")] == list(SUBCOMMANDS)
    for subcommand in SUBCOMMANDS.values():
        for line in subcommand.help.splitlines():
            assert line in shown.output


def test_a_resolved_subcommand_is_the_real_one(local_settings: Path) -> None:
    group = top_group()
    assert isinstance(group.commands["cs"], Placeholder)
    shown = CliRunner().invoke(app, ["cs", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for command in ("run", "start", "stop", "status"):
        assert f" {command} " in shown.output
    with group.make_context("controlroom", ["cs", "status"]) as ctx:
        name, command, _ = group.resolve_command(ctx, ["cs", "status"])
    assert name == "cs" and not isinstance(command, Placeholder)
    assert group.commands["cs"] is command  # loaded once per program run


def test_the_settings_variable_in_the_help_is_the_one_settings_read() -> None:
    assert LOCAL_SETTINGS_ENV == config_settings.LOCAL_SETTINGS_ENV


def test_the_help_page_imports_no_command_module(tmp_path: Path) -> None:
    loaded = imported_by(tmp_path, "--help")
    assert "typer" in loaded  # the list is real
    assert loaded.isdisjoint(NOT_FOR_THE_TOP_HELP), sorted(loaded & set(NOT_FOR_THE_TOP_HELP))


@pytest.mark.parametrize("command", ["call", "info"])
def test_call_imports_only_what_a_call_needs(
    local_settings: Path, tmp_path: Path, command: str
) -> None:
    loaded = imported_by(tmp_path, command, "--help")
    assert "controlroom.cli.call" in loaded
    assert loaded.isdisjoint(NEVER_FOR_HELP), sorted(loaded & set(NEVER_FOR_HELP))
    assert "controlroom.cli.camera" not in loaded


def test_a_group_with_heavy_modules_imports_them_when_asked(
    local_settings: Path, tmp_path: Path
) -> None:
    loaded = imported_by(tmp_path, "camera", "--help")
    assert {"controlroom.cli.camera", "numpy"} <= loaded  # the checks above can see them
