"""Argument types: coercion against annotations and their JSON Schema description."""

import enum
import typing
from typing import Annotated, Any, Optional

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlroom.device.argtypes import coerce, json_schema, unwrap_annotated
from controlroom.device.validators import choices, in_range


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


# -- unwrap_annotated ----------------------------------------------------------------------


def test_unwrap_annotated_splits_type_and_metadata() -> None:
    low = in_range(0, 1)
    assert unwrap_annotated(Annotated[float, low, "note"]) == (float, (low, "note"))
    assert unwrap_annotated(float) == (float, ())
    assert unwrap_annotated(Optional[int]) == (Optional[int], ())  # noqa: UP045


# -- coerce --------------------------------------------------------------------------------


@given(st.integers())
def test_integers_stay_integers(value: int) -> None:
    got = coerce(value, int)
    assert got == value
    assert type(got) is int


@given(st.integers(-(2**53), 2**53) | st.floats(allow_nan=False))
def test_numbers_become_floats(value: float) -> None:
    got = coerce(value, float)
    assert got == value
    assert type(got) is float


def test_nan_is_a_float() -> None:
    assert np.isnan(coerce(float("nan"), float))


@pytest.mark.parametrize("value", [np.int8(3), np.uint64(3), np.int64(3)])
def test_numpy_integers_are_integers(value: Any) -> None:
    assert type(coerce(value, int)) is int
    assert type(coerce(value, float)) is float


@pytest.mark.parametrize("annotation", [int, float])
@pytest.mark.parametrize("value", [True, False, np.bool_(True), "1", None, b"1", [1], 1j])
def test_booleans_and_other_values_are_not_numbers(annotation: type, value: Any) -> None:
    with pytest.raises(ValueError, match="expected"):
        coerce(value, annotation)


@pytest.mark.parametrize("value", [1.0, 1.5, np.float64(2.0)])
def test_floats_are_not_integers(value: Any) -> None:
    with pytest.raises(ValueError, match="expected an integer"):
        coerce(value, int)


def test_booleans() -> None:
    assert coerce(True, bool) is True
    assert coerce(np.bool_(False), bool) is False
    for value in (1, 0, "true", None):
        with pytest.raises(ValueError, match="true or false"):
            coerce(value, bool)


def test_strings_are_not_converted() -> None:
    assert coerce("A", str) == "A"
    for value in (1, b"A", None):
        with pytest.raises(ValueError, match="expected str"):
            coerce(value, str)


def test_enums_by_member_value_or_name() -> None:
    assert coerce(Color.RED, Color) is Color.RED
    assert coerce("g", Color) is Color.GREEN
    assert coerce("GREEN", Color) is Color.GREEN
    assert coerce(2, Level) is Level.HIGH
    assert coerce("LOW", Level) is Level.LOW


def test_enum_names_are_case_sensitive_and_errors_list_the_members() -> None:
    with pytest.raises(ValueError, match=r"'green' is not a Color \(one of RED, GREEN\)"):
        coerce("green", Color)
    with pytest.raises(ValueError, match="not a Level"):
        coerce(3, Level)


def test_optional_accepts_none_and_checks_the_rest() -> None:
    for annotation in (Optional[int], int | None, None | int, typing.Union[int, None]):  # noqa: UP007, UP045
        assert coerce(None, annotation) is None
        assert coerce(3, annotation) == 3
        with pytest.raises(ValueError, match="expected an integer"):
            coerce("3", annotation)


def test_unions_of_several_types_pass_unchecked() -> None:
    assert coerce("x", int | str | None) == "x"
    assert coerce(object, int | str) is object


def test_lists_coerce_each_item() -> None:
    assert coerce((1, 2), list[float]) == [1.0, 2.0]
    assert coerce(np.array([1, 2]), list[int]) == [1, 2]
    assert coerce([[1], [2]], list[list[float]]) == [[1.0], [2.0]]
    assert coerce(["a", 1], list) == ["a", 1]
    with pytest.raises(ValueError, match="expected a number"):
        coerce([1, "x"], list[float])


@pytest.mark.parametrize("value", ["abc", b"abc", 3, None, {1, 2}, {"a": 1}])
def test_lists_must_be_sequences(value: Any) -> None:
    with pytest.raises(ValueError, match="expected a list"):
        coerce(value, list[int])


def test_tuples() -> None:
    assert coerce([1, 2], tuple[float, ...]) == (1.0, 2.0)
    assert coerce([1, "a"], tuple[int, str]) == (1, "a")  # fixed-length tuples: items unchecked
    with pytest.raises(ValueError, match="expected an integer"):
        coerce([1, 2.5], tuple[int, ...])


def test_numpy_arrays() -> None:
    got = coerce([1.0, 2.0], np.ndarray)
    assert isinstance(got, np.ndarray)
    assert got.tolist() == [1.0, 2.0]


def test_other_classes_are_checked_by_isinstance() -> None:
    class Config:
        pass

    config = Config()
    assert coerce(config, Config) is config
    with pytest.raises(ValueError, match="expected Config, got int 1"):
        coerce(1, Config)


@pytest.mark.parametrize("annotation", [Any, typing.Any, None, dict[str, int], typing.Callable])
def test_unknown_annotations_pass_values_through(annotation: Any) -> None:
    value = object()
    assert coerce(value, annotation) is value


# -- json_schema ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (bool, {"type": "boolean"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (str, {"type": "string"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Color, {"enum": ["r", "g"], "x-enum-names": ["RED", "GREEN"], "title": "Color"}),
        (Level, {"enum": [1, 2], "x-enum-names": ["LOW", "HIGH"], "title": "Level"}),
        (Optional[float], {"anyOf": [{"type": "number"}, {"type": "null"}]}),  # noqa: UP045
        (str | None, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        (list[float], {"type": "array", "items": {"type": "number"}}),
        (
            list[Color],
            {
                "type": "array",
                "items": {"enum": ["r", "g"], "x-enum-names": ["RED", "GREEN"], "title": "Color"},
            },
        ),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            list[list[int]],
            {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        ),
        (np.ndarray, {"type": "array", "x-ndarray": True}),
        (Any, {}),
        (dict[str, int], {}),
        (int | str, {}),
        (bytes, {}),
    ],
)
def test_json_schema(annotation: Any, schema: dict[str, Any]) -> None:
    assert json_schema(annotation) == schema


def test_json_schema_of_a_fixed_tuple_does_not_claim_one_item_type() -> None:
    assert json_schema(tuple[int, str]).get("items") != {"type": "integer"}


def test_json_schema_of_annotated_choices_is_not_unwrapped_here() -> None:
    # Annotated is split by the command machinery before json_schema sees it.
    assert json_schema(unwrap_annotated(Annotated[str, choices("A")])[0]) == {"type": "string"}
