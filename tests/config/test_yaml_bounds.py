"""YAML aliases and Setup sizes are bounded: a small file cannot tie up its reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from controlroom.config.errors import ConfigError
from controlroom.config.setup import Setup, SetupTooLarge, check_setup_size
from controlroom.config.yamlfile import MAX_ALIAS_VALUES, YamlBombError, load_yaml

# Generous: the refusal takes milliseconds; without the bound the reader runs for minutes.
DEADLINE_S = 20.0


def billion_laughs(levels: int = 9) -> str:
    """Ten aliases per level: ``lol9`` stands for 10**9 strings in a few hundred bytes."""
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, levels + 1):
        items = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"lol{level}: &lol{level} [{items}]")
    return "\n".join(lines) + "\n"


def run_child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child process, killed (by subprocess.run) at the deadline."""
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=DEADLINE_S,
            check=False,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the reader still ran after {DEADLINE_S} s: its work is not bounded")


@pytest.mark.parametrize(
    "read",
    [
        "from controlroom.config.setup import Setup; Setup.from_yaml_file(PATH)",
        "from controlroom.config.settings import load_settings; load_settings(PATH)",
    ],
    ids=["setup", "settings"],
)
def test_a_billion_laughs_file_is_refused_at_once(tmp_path: Path, read: str) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    code = f"""
        import sys
        from controlroom.config.errors import ConfigError
        PATH = {str(bomb)!r}
        try:
            {read}
        except ConfigError as exc:
            print(exc)
            sys.exit(3)
        """
    done = run_child(code, tmp_path)
    assert done.returncode == 3, done.stderr
    assert "anchors and aliases expand to more than" in done.stdout
    assert "bomb.yaml" in done.stdout


def test_the_bound_counts_expanded_values_not_aliases() -> None:
    with pytest.raises(YamlBombError, match=r"^bomb: anchors and aliases expand"):
        load_yaml(billion_laughs(), "bomb")
    # Few aliases, each of a large value: as expensive to expand as many small ones.
    big = "base: &b [" + ", ".join(["1"] * 1000) + "]\ncopies: [" + ", ".join(["*b"] * 200) + "]\n"
    with pytest.raises(YamlBombError):
        load_yaml(big, "big")


def test_ordinary_anchors_and_merges_still_load() -> None:
    text = """
        defaults: &defaults {hk_period_s: 1.0, simulated: true}
        devices:
          a: {<<: *defaults, port: 1}
          b: {<<: *defaults, port: 2}
        axes: &axes [x, y, z]
        again: *axes
        """
    data = load_yaml(textwrap.dedent(text), "ok")
    assert data["devices"]["b"] == {"hk_period_s": 1.0, "simulated": True, "port": 2}
    assert data["again"] == ["x", "y", "z"]
    at_the_bound = "v: &v x\nl: [" + ", ".join(["*v"] * (MAX_ALIAS_VALUES - 10)) + "]\n"
    assert len(load_yaml(at_the_bound, "many")["l"]) == MAX_ALIAS_VALUES - 10


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(YamlBombError, match="refers to a value that contains it"):
        load_yaml("a: &a [1, *a]\n", "loop")
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a {b: *a}\n")
    with pytest.raises(ConfigError, match=r"loop\.yaml: an alias refers"):
        Setup.from_yaml_file(path)


def test_invalid_yaml_is_still_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [1, 2\n", "broken")


def test_a_setup_file_over_the_maximum_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("table: [" + ", ".join(["1.5"] * 2000) + "]\n")
    with pytest.raises(SetupTooLarge, match=r"huge\.yaml: the Setup has \d+ bytes, the maximum"):
        Setup.from_yaml_file(path, max_bytes=4096)
    assert len(Setup.from_yaml_file(path)["table"]) == 2000


def test_the_size_count_stops_at_the_limit() -> None:
    check_setup_size({"a": "x" * 1000, "b": [1, 2, 3]}, 2000)
    with pytest.raises(SetupTooLarge, match="more than 1000 bytes"):
        check_setup_size({"a": "x" * 1000, "b": [1, 2, 3]}, 1000)
    with pytest.raises(SetupTooLarge, match="more than 4096 bytes"):
        check_setup_size({"rows": [{"x": 1.25, "y": "abc"}] * 1000}, 4096)


def test_the_shipped_demo_setup_is_far_below_the_default_maximum() -> None:
    demo = Path(__file__).parents[2] / "src" / "controlroom" / "config" / "setups" / "demo.yaml"
    check_setup_size(Setup.from_yaml_file(demo).to_dict(), 64 * 1024)
