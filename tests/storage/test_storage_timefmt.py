"""UTC timestamp text: the CGSE's format_datetime, with microseconds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from controlroom.storage.timefmt import (
    TIMESTAMP_FORMAT,
    format_datetime,
    format_day,
    format_timestamps,
    parse_datetime,
    parse_timestamp,
)


def test_format_is_utc_iso_with_microseconds() -> None:
    assert format_datetime(1654069645.672123) == "2022-06-01T07:47:25.672123+0000"


def test_strptime_with_the_documented_format_reads_it() -> None:
    text = format_datetime(1654069645.5)
    assert datetime.strptime(text, TIMESTAMP_FORMAT) == datetime(
        2022, 6, 1, 7, 47, 25, 500000, tzinfo=UTC
    )


def test_sub_millisecond_round_trip() -> None:
    for stamp in (1654069645.000_123, 1_717_200_000.999_999, 0.000_5):
        assert parse_timestamp(format_datetime(stamp)) == pytest.approx(stamp, abs=1e-6)


def test_aware_datetimes_are_shown_in_utc() -> None:
    brussels = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2022, 6, 1, 9, 47, 25, tzinfo=brussels)).startswith(
        "2022-06-01T07:47:25.000000+0000"
    )


def test_naive_datetimes_and_offsetless_text_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2022, 6, 1))
    with pytest.raises(ValueError, match="offset"):
        parse_datetime("2022-06-01T07:47:25.672")
    with pytest.raises(ValueError, match="ISO"):
        parse_datetime("yesterday")


def test_the_cgse_millisecond_form_is_read_too() -> None:
    assert parse_datetime("2022-06-01T07:47:25.672+0000") == datetime(
        2022, 6, 1, 7, 47, 25, 672000, tzinfo=UTC
    )


def test_day_of_a_timestamp_for_file_names() -> None:
    assert format_day(1_717_199_999.999) == "20240531"
    assert format_day(1_717_200_000.0, fmt="%d/%m/%Y") == "01/06/2024"
    assert len(format_day()) == 8


def test_format_timestamps_writes_what_format_datetime_writes() -> None:
    rng = random.Random(7)
    stamps = [1_717_199_999.0 + rng.random() * 2 for _ in range(500)]
    stamps += [1_654_069_645.9999996, 1_654_069_645.0000004, 1_654_069_645.0000005, 0.0, 86_399.5]
    stamps += [1_654_069_645 + k / 1e6 + 5e-7 for k in range(0, 10)]  # ties: half to even
    assert format_timestamps(stamps) == [format_datetime(t) for t in stamps]
    assert format_timestamps([]) == []
