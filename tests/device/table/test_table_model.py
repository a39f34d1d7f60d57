"""Command tables: what a valid one gives, and every mistake named by the key at fault."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from controlroom.device.table import TableError, find_table, load_table, parse_table, read_table
from controlroom.device.table.files import MAX_TABLE_BYTES


def _table(**commands: Any) -> dict[str, Any]:
    return {"instrument": {"name": "meter"}, "errors": "scpi", "commands": commands}


def test_a_table_gives_its_commands_with_arguments_readings_and_roles() -> None:
    table = parse_table(
        _table(
            set_range={
                "write": "RANG ${volts}",
                "args": {"volts": {"type": "float", "range": [0, 10]}},
            },
            volts={
                "query": "MEAS?",
                "returns": {"type": "float", "unit": "V"},
                "housekeeping": True,
            },
            stop={"write": "ABOR", "interrupts": True},
            ident={"query": "*IDN?", "checked": False},
        ),
        "meter.yaml",
    )
    assert table.name == "meter" and table.scpi_errors
    assert [c.name for c in table.commands] == ["set_range", "volts", "stop", "ident"]
    set_range = table.command("set_range")
    assert set_range.kind == "write" and set_range.args[0].annotation is float
    assert set_range.args[0].check(5.0) == 5.0
    with pytest.raises(ValueError, match="outside the range"):
        set_range.args[0].check(11.0)
    volts = table.command("volts")
    assert volts.reading is not None and volts.reading.unit == "V" and volts.housekeeping == "volts"
    assert table.command("stop").interrupts and not table.command("ident").checked


@pytest.mark.parametrize(
    ("commands", "message"),
    [
        ({"Bad-Name": {"write": "X"}}, r"commands\.Bad-Name: a command name is lower case"),
        ({"both": {"write": "X", "query": "Y?"}}, r"commands\.both: give exactly one of"),
        ({"none": {"doc": "nothing to send"}}, r"commands\.none: give exactly one of"),
        ({"typo": {"write": "X", "agrs": {}}}, r"commands\.typo: unknown keys \['agrs'\]"),
        (
            {"rng": {"write": "R ${v}", "args": {"v": {"type": "float", "range": [5, 1]}}}},
            r"commands\.rng\.args\.v\.range: \[low, high\] for a number",
        ),
        (
            {"kind": {"write": "R ${v}", "args": {"v": {"type": "complex"}}}},
            r"commands\.kind\.args\.v\.type: one of float, int, str, bool",
        ),
        (
            {"ch": {"write": "F ${f}", "args": {"f": {"type": "str", "choices": ["A", 2]}}}},
            r"commands\.ch\.args\.f\.choices: 2 is not a str",
        ),
        (
            {
                "dflt": {
                    "write": "R ${v}",
                    "args": {"v": {"type": "int", "range": [0, 5], "default": 9}},
                }
            },
            r"commands\.dflt\.args\.v\.default: 9 is outside the range",
        ),
        ({"ghost": {"write": "R ${v}"}}, r"commands\.ghost\.write: \['v'\] are not arguments"),
        (
            {"unsent": {"write": "R", "args": {"v": "int"}}},
            r"commands\.unsent\.write: the arguments \['v'\] are never sent",
        ),
        ({"dollar": {"write": "COST $5"}}, r"commands\.dollar\.write: a \$ must start"),
        (
            {"ret": {"write": "X", "returns": "float"}},
            r"commands\.ret\.returns: a write command returns nothing",
        ),
        (
            {"parse": {"query": "X?", "returns": {"type": "float", "pattern": "("}}},
            r"commands\.parse\.returns\.pattern: not a regular expression",
        ),
        ({"hk": {"write": "X", "housekeeping": True}}, r"commands\.hk\.housekeeping: only a query"),
        ({"role": {"write": "X", "access": "root"}}, r"commands\.role\.access: expected one of"),
        (
            {"flag": {"write": "X", "interrupts": "yes"}},
            r"commands\.flag\.interrupts: expected true or false",
        ),
    ],
)
def test_each_mistake_names_the_key_at_fault(commands: dict[str, Any], message: str) -> None:
    with pytest.raises(TableError, match=message):
        parse_table(_table(**commands), "meter.yaml")


def test_the_top_level_is_checked_and_bounded() -> None:
    with pytest.raises(TableError, match=r"meter.yaml: unknown keys \['comands'\]"):
        parse_table({"instrument": {"name": "m"}, "comands": {}}, "meter.yaml")
    with pytest.raises(TableError, match="errors must be scpi or none"):
        parse_table({**_table(x={"write": "X"}), "errors": "loud"}, "meter.yaml")
    with pytest.raises(TableError, match="give 1 to 500 commands"):
        parse_table(_table(**{f"c{n}": {"write": "X"} for n in range(501)}), "meter.yaml")
    with pytest.raises(TableError, match=r"instrument\.name: expected a string"):
        parse_table({"commands": {"x": {"write": "X"}}}, "meter.yaml")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_table_is_found_by_name_in_the_first_folder_that_has_it(tmp_path: Path) -> None:
    ours, shipped = tmp_path / "lab", tmp_path / "shipped"
    _write(shipped, "meter.yaml", "instrument: {name: shipped}\ncommands: {x: {write: X}}\n")
    assert load_table("meter", [ours, shipped]).name == "shipped"
    _write(ours, "meter.yaml", "instrument: {name: ours}\ncommands: {x: {write: X}}\n")
    assert load_table("meter", [ours, shipped]).name == "ours"
    with pytest.raises(TableError, match="no command table named 'other'"):
        find_table("other", [ours, shipped])


def test_a_path_must_stay_inside_the_table_folders(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    inside = _write(
        folder / "sub", "meter.yaml", "instrument: {name: m}\ncommands: {x: {write: X}}\n"
    )
    secret = _write(tmp_path / "private", "secret.yaml", "password: hunter2\n")
    assert find_table(str(inside), [folder]) == inside.resolve()
    for outside in (str(secret), str(folder / ".." / "private" / "secret.yaml")):
        with pytest.raises(TableError, match="outside") as refused:
            find_table(outside, [folder])
        assert "hunter2" not in str(refused.value)
    os.symlink(secret, folder / "link.yaml")  # a name that leads out through a symlink
    with pytest.raises(TableError, match="outside"):
        find_table("link", [folder])


def test_bad_files_are_refused_without_quoting_them(tmp_path: Path) -> None:
    big = _write(tmp_path, "big.yaml", "# " + "x" * MAX_TABLE_BYTES + "\n")
    with pytest.raises(TableError, match="more than the limit of 262144 bytes"):
        read_table(big)
    broken = _write(tmp_path, "broken.yaml", "commands: [unclosed\n")
    with pytest.raises(TableError, match=r"broken.yaml:\d+:\d+: invalid YAML") as refused:
        read_table(broken)
    assert "unclosed" not in str(refused.value)
    # Nine levels of aliases, each nine of the one before: billions of values once built.
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for n in range(8):
        below = chr(97 + n)
        levels.append(f"{chr(98 + n)}: &{chr(98 + n)} [" + ", ".join([f"*{below}"] * 9) + "]")
    bomb = "\n".join(levels) + "\n"
    with pytest.raises(TableError):
        read_table(_write(tmp_path, "bomb.yaml", bomb))


def test_free_text_cannot_start_a_second_command() -> None:
    table = parse_table(
        _table(
            label={"write": 'DISP:TEXT "${text}"', "args": {"text": "str"}},
            raw={"write": "SAY ${words}", "args": {"words": {"type": "str", "pattern": ".*"}}},
        ),
        "meter.yaml",
    )
    text = table.command("label").args[0]
    assert text.check("Cooling down") == "Cooling down"
    for smuggled in ('x";*RST;"', "x;*RST", "x\n*RST", "x" * 201):
        with pytest.raises(ValueError):
            text.check(smuggled)
    assert table.command("raw").args[0].check("a;b") == "a;b"  # its own pattern says so


@pytest.mark.parametrize("pattern", ["([A-Z]+)+", r"(\w*)*", "(a{2,})+"])
def test_patterns_that_could_backtrack_for_ever_are_refused(pattern: str) -> None:
    arg = {"write": "S ${s}", "args": {"s": {"type": "str", "pattern": pattern}}}
    with pytest.raises(TableError, match=r"args\.s\.pattern: a quantified group"):
        parse_table(_table(s=arg), "meter.yaml")
    reply = {"query": "R?", "returns": {"type": "str", "pattern": pattern}}
    with pytest.raises(TableError, match=r"returns\.pattern: a quantified group"):
        parse_table(_table(r=reply), "meter.yaml")


def test_the_length_is_checked_before_the_pattern() -> None:
    spec = {"type": "str", "pattern": "[A-Z]*", "max_length": 8}
    table = parse_table(_table(s={"write": "S ${s}", "args": {"s": spec}}), "meter.yaml")
    with pytest.raises(ValueError, match="longer than 8"):
        table.command("s").args[0].check("A" * 9)
