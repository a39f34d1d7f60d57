"""Batches as tables (``append_table``): the same contract as rows, on every backend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from controlroom.storage import (
    Backend,
    InvalidNameError,
    InvalidRowsError,
    Row,
    Table,
    TableBackend,
    UnknownColumnError,
    UnknownOriginError,
    ValueTypeError,
    csvformat,
)
from controlroom.storage.table import check_table

T0 = 1_717_199_999.0  # 2024-05-31T23:59:59 UTC: one second before a new UTC day
HK = ["TEMP_A", "TEMP_B", "STATE"]


@pytest.fixture
def hk(store: Backend) -> TableBackend:
    """A backend with the origin HK registered."""
    assert isinstance(store, TableBackend)
    store.register("HK", HK)
    return store


def _line(t: float, *values: Any, setup_id: int | None = 7, obsid: str | None = None) -> list[Any]:
    return [T0 + t, setup_id, obsid, *values]


def _rows(found: Sequence[Row]) -> list[tuple[Any, ...]]:
    return [
        (round(r.timestamp - T0, 6), r.setup_id, r.obsid, *(r.values[c] for c in HK)) for r in found
    ]


def test_a_table_is_stored_like_the_same_rows(hk: TableBackend) -> None:
    table = Table(HK, [_line(0.0, 20.5, 3, "on"), _line(1.5, -1.25e-9, None, "off", obsid="LAB_1")])
    hk.append_table("HK", table)
    assert _rows(hk.range("HK")) == [
        (0.0, 7, None, 20.5, 3, "on"),
        (1.5, 7, "LAB_1", -1.25e-9, None, "off"),
    ]
    assert _rows(hk.range("HK")) == _rows(table.to_rows())


def test_columns_in_another_order_or_missing_go_to_their_place(hk: TableBackend) -> None:
    hk.append_table("HK", Table(["STATE", "TEMP_A"], [_line(0.0, "idle", 1.0)]))
    hk.append_table("HK", Table([], [_line(1.0)]))
    assert _rows(hk.range("HK")) == [
        (0.0, 7, None, 1.0, None, "idle"),
        (1.0, 7, None, None, None, None),
    ]


def test_values_keep_their_type_across_day_and_observation_files(hk: TableBackend) -> None:
    lines = [_line(t, t * 2, int(t), t > 1, obsid="LAB_2") for t in (0.25, 1.0, 2.5)]
    hk.append_table("HK", Table(HK, lines))  # crosses a UTC midnight: two daily files
    assert _rows(hk.range("HK")) == [
        (0.25, 7, "LAB_2", 0.5, 0, False),
        (1.0, 7, "LAB_2", 2.0, 1, False),
        (2.5, 7, "LAB_2", 5.0, 2, True),
    ]


def test_an_empty_table_stores_nothing(hk: TableBackend) -> None:
    hk.append_table("HK", Table(HK, []))
    assert hk.range("HK") == []


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        (Table(HK, [{"timestamp": T0}]), InvalidRowsError, "each row is a list"),
        (Table(HK, [_line(0.0, 1.0)]), InvalidRowsError, "6 fields"),
        (Table(["NOPE"], [_line(0.0, 1.0)]), UnknownColumnError, "NOPE"),
        (Table(["TEMP_A", "TEMP_A"], [_line(0.0, 1.0, 2.0)]), InvalidNameError, "twice"),
        (Table([3], [_line(0.0, 1.0)]), InvalidNameError, "list of names"),
        (Table(HK, [_line(0.0, 1, 2, 3), [math.nan, None, None, 1, 2, 3]]), ValueTypeError, "1970"),
        (Table(HK, [[-1.0, None, None, 1, 2, 3]]), ValueTypeError, "1970"),
        (Table(HK, [[math.inf, None, None, 1, 2, 3]]), ValueTypeError, "1970"),
        (Table(HK, [[True, None, None, 1, 2, 3]]), ValueTypeError, "not a number"),
        (Table(HK, [_line(0.0, 1, 2, 3, setup_id=True)]), ValueTypeError, "setup_id"),  # type: ignore[arg-type]
        (Table(HK, [[T0, "7", None, 1, 2, 3]]), ValueTypeError, "setup_id"),
        (Table(HK, [_line(0.0, 1, 2, 3, obsid="../x")]), InvalidNameError, "obsid"),
        (Table(HK, [_line(0.0, [1, 2], 2, 3)]), ValueTypeError, "(?i)stor"),
        (Table(HK, [_line(0.0, {"a": 1}, 2, 3)]), ValueTypeError, "(?i)stor"),
    ],
)
def test_a_bad_table_is_refused_whole(
    hk: TableBackend, table: Table, error: type[Exception], message: str
) -> None:
    good = Table(HK, [_line(5.0, 1.0, 2, "x")])
    hk.append_table("HK", good)
    with pytest.raises(error, match=message):
        hk.append_table("HK", Table(table.columns, [_line(4.0, 1.0, 2, "x"), *table.rows]))
    assert len(hk.range("HK")) == 1  # nothing of the refused table


def test_rows_that_are_no_list_are_refused(hk: TableBackend) -> None:
    with pytest.raises(InvalidRowsError, match="must be a list"):
        hk.append_table("HK", Table(HK, "rows"))  # type: ignore[arg-type]


def test_an_unknown_origin_is_refused(hk: TableBackend) -> None:
    with pytest.raises(UnknownOriginError):
        hk.append_table("NOPE", Table(HK, [_line(0.0, 1, 2, 3)]))


def test_numpy_scalars_become_plain_values() -> None:
    table = Table(HK, [_line(0.0, np.float32(1.5), np.int64(3), np.bool_(True))])
    lines = check_table("HK", table, HK)
    assert lines.rows[0][3:] == [1.5, 3, True]
    assert [type(v) for v in lines.rows[0][3:]] == [float, int, bool]
    assert lines.numeric is False  # converted rows take the general path


@pytest.mark.parametrize(
    ("values", "numeric"),
    [((1.0, 2, True), True), ((1.0, None, True), False), ((1.0, 2, "on"), False)],
)
def test_numeric_batches_are_told_apart(values: tuple[Any, ...], numeric: bool) -> None:
    assert check_table("HK", Table(HK, [_line(0.0, *values)]), HK).numeric is numeric
    # A batch that lacks a registered column has gaps.
    assert check_table("HK", Table(HK[:2], [_line(0.0, *values[:2])]), HK).numeric is False


def test_numeric_lines_render_as_the_csv_module_does() -> None:
    values = [0.1, -0.0, 1e300, -2.5e-308, math.nan, math.inf, -math.inf, 7, -3, True, False]
    lines = [[T0, s, o, *values] for s, o in [(1, "LAB_1"), (None, None), (42, None)]]
    stamps = [f"2024-06-01T00:00:0{i}.000000+0000" for i in range(len(lines))]
    fast = csvformat.render_lines(stamps, lines, [0, 1, 2], numeric=True)
    assert fast == csvformat.render([[s, *line[1:]] for s, line in zip(stamps, lines, strict=True)])
    assert csvformat.render_lines(stamps, lines, [2], numeric=True) == fast.splitlines(True)[2]
