"""The process factory's warm-up: the Settings parsed once, shared by every forked process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controlroom.config import settings as config_settings
from controlroom.config.settings import LOCAL_SETTINGS_ENV, load_settings
from controlroom.processes.preload import FIRST

CHILD_S = 60.0


def test_the_factory_warms_the_settings_after_the_entry_points() -> None:
    assert FIRST[-1] == "controlroom.processes.warm"


def test_the_same_files_are_parsed_once_per_process(tmp_path: Path) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump({"web": {"port": 0}}))
    config_settings._parse.cache_clear()
    first = load_settings(local)
    parsed = config_settings._parse.cache_info().misses
    again = load_settings(local)
    assert config_settings._parse.cache_info().misses == parsed  # both documents from memory
    assert again == first and again is not first
    again["web"]["port"] = 1234  # a caller's change stays its own
    assert load_settings(local)["web"]["port"] == 0
    local.write_text(yaml.safe_dump({"web": {"port": 8080}}))  # an edited file is read anew
    assert load_settings(local)["web"]["port"] == 8080


PROGRAM = """
import sys
import controlroom.processes.warm as warm
from controlroom.config import settings
print(warm.WARMED, settings._parse.cache_info().currsize)
"""


GOOD, BROKEN = ("web: {port: 0}\n", "True 2"), ("web: [\n", "False")


def in_a_process(program: str, folder: Path, local_settings: str) -> str:
    """What ``program`` prints in a fresh interpreter with these local Settings."""
    local = folder / "local.yaml"
    local.write_text(local_settings)
    env = {LOCAL_SETTINGS_ENV: str(local), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True,
        timeout=CHILD_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("text", "expected"), [GOOD, BROKEN])
def test_warming_loads_good_settings_and_survives_bad_ones(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert in_a_process(PROGRAM, tmp_path, text).startswith(expected)


PRELOAD_ALL = """
import importlib
from controlroom.processes.preload import FIRST
from controlroom.rpc.factory.zygote import unforkable
for module in FIRST:
    importlib.import_module(module)
print(repr(unforkable()))
"""


def test_everything_preloaded_first_leaves_the_factory_safe_to_fork(tmp_path: Path) -> None:
    # No thread started, no ZeroMQ context made.
    assert in_a_process(PRELOAD_ALL, tmp_path, GOOD[0]).strip() == "''"
