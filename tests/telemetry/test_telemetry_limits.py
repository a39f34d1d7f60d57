"""Limit bands with hysteresis, on their own (no dictionary, no server)."""

from __future__ import annotations

import math
import random

import pytest

from controlroom.telemetry import Band, Hysteresis, Limits
from controlroom.telemetry.limits import LIMIT_FIELDS, LimitMonitor

LIMITS = Limits(operational=Band(100.0, 300.0), non_operational=Band(0.0, 400.0))


def _monitor(hysteresis: Hysteresis | None = None) -> LimitMonitor:
    return LimitMonitor("T", "BENCH", "K", LIMITS, hysteresis or Hysteresis())


def _run(monitor: LimitMonitor, series: list[float]) -> list[tuple[str, str, str]]:
    events = []
    for n, value in enumerate(series):
        events += [(c["band"], c["state"], c["side"]) for c in monitor.check(value, float(n))]
    return events


def _noisy_on_the_limit(seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [300.0 + rng.uniform(-1.5, 1.5) for _ in range(500)]


def test_a_noisy_value_on_a_limit_raises_one_alarm_and_clears_once() -> None:
    series = [250.0] * 5 + _noisy_on_the_limit() + [280.0] * 5
    assert _run(_monitor(), series) == [
        ("operational", "entered_alarm", "high"),
        ("operational", "back_to_normal", "high"),
    ]


def test_without_hysteresis_the_same_series_flaps() -> None:
    # The control for the test above: it would fail if hysteresis did nothing.
    series = [250.0] * 5 + _noisy_on_the_limit() + [280.0] * 5
    events = _run(_monitor(Hysteresis(relative=0.0)), series)
    assert len(events) > 50


def test_the_margin_is_a_fraction_of_the_span_or_absolute() -> None:
    assert Hysteresis().margin(LIMITS, LIMITS.operational) == pytest.approx(4.0)  # 1 % of 400
    assert Hysteresis(relative=0, absolute=2.5).margin(LIMITS, LIMITS.operational) == 2.5
    # Never more than a quarter of the band, so a value can always come back.
    assert Hysteresis(relative=1.0).margin(LIMITS, LIMITS.operational) == 50.0
    one_sided = Limits(operational=Band(None, 50.0))
    assert Hysteresis().margin(one_sided, one_sided.operational) == pytest.approx(0.5)


def test_coming_back_needs_the_margin() -> None:
    monitor = _monitor()
    assert _run(monitor, [301.0, 297.0, 296.5]) == [("operational", "entered_alarm", "high")]
    assert _run(monitor, [296.0]) == [("operational", "back_to_normal", "high")]


def test_coming_back_can_need_several_samples() -> None:
    monitor = _monitor(Hysteresis(relative=0.0, samples=3))
    assert len(_run(monitor, [301.0, 299.0, 299.0, 301.0, 299.0, 299.0])) == 1  # still in alarm
    assert _run(monitor, [299.0]) == [("operational", "back_to_normal", "high")]


def test_the_non_operational_band_is_watched_on_its_own() -> None:
    monitor = _monitor()
    assert _run(monitor, [450.0]) == [
        ("operational", "entered_alarm", "high"),
        ("non_operational", "entered_alarm", "high"),
    ]
    assert _run(monitor, [350.0]) == [("non_operational", "back_to_normal", "high")]
    state = monitor.describe()
    assert state["operational"]["state"] == "alarm"
    assert state["non_operational"] == {"state": "normal", "side": None, "since": 0.0}
    assert _run(monitor, [200.0]) == [("operational", "back_to_normal", "high")]


def test_the_low_side() -> None:
    monitor = _monitor()
    assert _run(monitor, [-1.0, 50.0, 104.0]) == [
        ("operational", "entered_alarm", "low"),
        ("non_operational", "entered_alarm", "low"),
        ("non_operational", "back_to_normal", "low"),
        ("operational", "back_to_normal", "low"),
    ]


def test_limits_are_inclusive_and_non_readings_change_nothing() -> None:
    monitor = _monitor()
    assert _run(monitor, [300.0, 100.0, 0.0]) == [("operational", "entered_alarm", "low")]
    for value in (math.nan, None, True, "broken"):
        assert monitor.check(value, 9.0) == []
    assert monitor.describe()["value"] == 0.0


def test_a_crossing_record_has_every_field() -> None:
    [crossing] = _monitor().check(301.0, 12.5)
    assert tuple(crossing) == LIMIT_FIELDS
    assert crossing == {
        "time": 12.5,
        "origin": "BENCH",
        "parameter": "T",
        "band": "operational",
        "state": "entered_alarm",
        "side": "high",
        "value": 301.0,
        "unit": "K",
        "low": 100.0,
        "high": 300.0,
    }


def test_bad_hysteresis_is_refused() -> None:
    with pytest.raises(ValueError, match="samples"):
        Hysteresis(samples=0)
    with pytest.raises(ValueError, match="margins"):
        Hysteresis(relative=-0.1)
