"""Loading and validating the telemetry dictionary; lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlroom.telemetry import (
    DictionaryError,
    Problem,
    TelemetryError,
    UnknownOrigin,
    UnknownParameter,
    UnknownSite,
    load_dictionary,
    parse_dictionary,
)

DATA = Path(__file__).parent / "data"


def _problems(name: str) -> list[Problem]:
    with pytest.raises(DictionaryError) as caught:
        load_dictionary(DATA / name)
    assert isinstance(caught.value, TelemetryError)
    problems: list[Problem] = caught.value.problems
    return problems


def _where(problems: list[Problem]) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.column) for p in problems]


def test_lookups_by_canonical_name_and_by_original_name() -> None:
    dictionary = load_dictionary(DATA / "bench.csv")
    temp = dictionary.parameter("BENCH_TEMP")
    assert (temp.origin, temp.original, temp.unit) == ("BENCH", "raw_temp", "K")
    assert temp.description == "Stage temperature from raw counts"
    assert (temp.calibration.slope, temp.calibration.offset) == (0.5, -10.0)
    assert dictionary.by_original("BENCH", "raw_temp") is temp
    assert dictionary.origin_of("CSL_TEMP") == "CHAMBER"
    # An empty original name means the device already uses the canonical name.
    assert dictionary.by_original("BENCH", "BENCH_LEVEL").name == "BENCH_LEVEL"
    assert "BENCH_TEMP" in dictionary and "raw_temp" not in dictionary


def test_names_per_origin_and_all_names_in_file_order() -> None:
    dictionary = load_dictionary(DATA / "bench.csv")
    assert dictionary.origins() == ["BENCH", "CHAMBER", "SYN"]
    assert dictionary.names("BENCH") == [
        "BENCH_TEMP",
        "BENCH_PRESSURE",
        "BENCH_LEVEL",
        "BENCH_DOOR",
    ]
    assert dictionary.names()[-3:] == ["SYN_TEMP_CRYO", "SYN_PRESSURE", "SYN_STAGE"]
    assert len(dictionary) == len(dictionary.names()) == 8


def test_line_numbers_count_blank_lines_and_cells_spanning_lines() -> None:
    dictionary = load_dictionary(DATA / "bench.csv")
    assert dictionary.parameter("BENCH_DOOR").line == 6
    assert dictionary.parameter("BENCH_DOOR").description == "Door open,\nor closed"
    assert dictionary.parameter("CSL_TEMP").line == 8


def test_unknown_lookups_are_telemetry_errors_with_hints() -> None:
    dictionary = load_dictionary(DATA / "bench.csv")
    with pytest.raises(UnknownParameter, match="did you mean BENCH_TEMP"):
        dictionary.parameter("BENCH_TMP")
    with pytest.raises(UnknownParameter, match="no HK parameter 'temp'"):
        dictionary.by_original("BENCH", "temp")
    with pytest.raises(UnknownOrigin, match="origins: BENCH, CHAMBER, SYN"):
        dictionary.names("NOPE")
    with pytest.raises(UnknownSite, match="sites: LAB, CSL"):
        dictionary.synoptics("SRON")


def test_synoptics_per_site() -> None:
    dictionary = load_dictionary(DATA / "bench.csv")
    assert dictionary.sites == ("LAB", "CSL")
    assert dictionary.synoptics("lab") == {
        "SYN_TEMP_CRYO": "BENCH_TEMP",
        "SYN_PRESSURE": "BENCH_PRESSURE",
        "SYN_STAGE": "BENCH_TEMP",
    }
    assert dictionary.synoptics("CSL") == {"SYN_TEMP_CRYO": "CSL_TEMP"}


def test_header_problems_are_all_reported_on_line_one() -> None:
    problems = _problems("bad_header.csv")
    assert _where(problems) == [
        (1, "Origin of synoptics at"),
        (1, "Colour"),
        (1, "Unit"),
    ]
    assert "needs a site name" in problems[0].message
    assert "unknown column" in problems[1].message
    assert "required column is missing" in problems[2].message


def test_row_problems_are_all_reported_with_line_and_column() -> None:
    problems = _problems("bad_rows.csv")
    assert _where(problems) == [
        (3, "Slope a"),
        (4, "MAX ops"),
        (5, "MIN nonops"),
        (6, "MAX ops"),
        (7, "Canonical name"),
        (8, None),
    ]
    messages = [p.message for p in problems]
    assert "not a finite number: 'two'" in messages[0]
    assert "not a finite number: 'high'" in messages[1]
    assert "minimum 20 is above the maximum 10" in messages[2]
    assert "above the non-operational maximum 10" in messages[3]
    assert "duplicate canonical name BENCH_A (first on line 2)" in messages[4]
    assert "5 fields, but the header has 18" in messages[5]


def test_the_error_message_names_file_line_and_column() -> None:
    with pytest.raises(DictionaryError) as caught:
        load_dictionary(DATA / "bad_rows.csv")
    text = str(caught.value)
    assert "6 problems" in text
    assert f"{DATA / 'bad_rows.csv'}:3: Slope a: not a finite number: 'two'" in text


def test_synoptic_rows_are_checked() -> None:
    problems = _problems("bad_synoptics.csv")
    assert _where(problems) == [
        (2, "Origin of synoptics at LAB"),
        (3, "Origin of synoptics at LAB"),
        (4, "Slope a"),
        (5, "Canonical name"),
    ]
    assert "only synoptics" in problems[0].message
    assert "no parameter 'BENCH_NOPE'" in problems[1].message
    assert "leave empty" in problems[2].message
    assert "starts with SYN_" in problems[3].message


def test_a_cgse_dictionary_loads_with_its_own_headers_and_semicolons() -> None:
    dictionary = load_dictionary(DATA / "cgse_style.csv")
    temp = dictionary.by_original("TCS", "tcs_t1")
    assert temp.name == "GTCS_TEMP_1" and temp.unit == "degC"
    assert temp.calibration.offset == -273.15
    assert temp.limits.operational.high == 30.0 and temp.limits.non_operational.low == -200.0
    assert dictionary.synoptics("CSL") == {"SYN_TCS_1": "GTCS_TEMP_1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("TM source,Storage mnemonic\n", "required column is missing"),
        ("TM source,TM SOURCE\n", "column repeats 'TM source'"),
    ],
)
def test_degenerate_files(text: str, expected: str) -> None:
    with pytest.raises(DictionaryError, match=expected):
        parse_dictionary(text, "x.csv")


def test_an_unreadable_file_is_a_dictionary_error(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="cannot read"):
        load_dictionary(tmp_path / "missing.csv")
