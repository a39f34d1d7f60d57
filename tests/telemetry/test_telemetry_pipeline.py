"""The HK pipeline: translation, calibration, unknown names, limits, synoptics.

Its cost per sample is a figure of ``bench/hk_pipeline.py``, not a test.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import pytest

from controlroom.telemetry import (
    LIMITS_KEY,
    SYNOPTICS_KEY,
    Hysteresis,
    TelemetryDictionary,
    TelemetryPipeline,
    UnknownOrigin,
    UnknownSite,
    load_dictionary,
    split_sample,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def dictionary() -> TelemetryDictionary:
    return load_dictionary(DATA / "bench.csv")


class Events:
    """A ``notify`` that remembers what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        self.seen.append((event, data))

    def states(self) -> list[str]:
        return [data["state"] for _, data in self.seen]


def _counts(kelvin: float) -> float:
    """Raw counts for a BENCH_TEMP in kelvin (the inverse of 0.5 * counts - 10)."""
    return (kelvin + 10.0) / 0.5


def test_names_are_translated_and_values_calibrated(dictionary: TelemetryDictionary) -> None:
    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB")
    sample = pipeline("bench", 1.0, {"raw_temp": 400, "p": 5e-4, "BENCH_LEVEL": 10.0, "door": True})
    values = split_sample(sample).values
    assert values == {
        "BENCH_TEMP": 190.0,  # 0.5 * 400 - 10: Slope a times raw plus Offset b
        "BENCH_PRESSURE": 5e-4,
        "BENCH_LEVEL": 21.0,  # 2 * 10 + 1
        "BENCH_DOOR": True,  # no calibration for a flag
    }


def test_unknown_names_pass_through_counted_and_logged_once(
    dictionary: TelemetryDictionary, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB")
    with caplog.at_level(logging.WARNING, "controlroom.telemetry"):
        for n in range(3):
            sample = pipeline("bench", float(n), {"p": 1e-4, "mystery": n})
    assert sample == {"BENCH_PRESSURE": 1e-4, "mystery": 2, SYNOPTICS_KEY: {"SYN_PRESSURE": 1e-4}}
    assert pipeline.unknown == {"mystery": 3}
    assert [r.getMessage() for r in caplog.records if "mystery" in r.getMessage()] == [
        "bench: HK name 'mystery' is not in the telemetry dictionary for BENCH; stored as it is"
    ]


def test_a_noisy_value_on_a_limit_notifies_once_each_way(dictionary: TelemetryDictionary) -> None:
    events = Events()
    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB", events)
    rng = random.Random(7)
    series = [250.0] * 3 + [300.0 + rng.uniform(-1.0, 1.0) for _ in range(300)] + [250.0] * 3
    stored = []
    for n, kelvin in enumerate(series):
        stored += split_sample(pipeline("bench", float(n), {"raw_temp": _counts(kelvin)})).crossings
    assert events.states() == ["entered_alarm", "back_to_normal"]
    assert {event for event, _ in events.seen} == {"limit"}
    entered = events.seen[0][1]
    assert entered["parameter"] == "BENCH_TEMP" and entered["band"] == "operational"
    assert entered["unit"] == "K" and (entered["low"], entered["high"]) == (100.0, 300.0)
    assert entered["value"] > 300.0 and entered["origin"] == "BENCH"
    assert stored == [data for _, data in events.seen]  # what is stored is what was sent


def test_the_hysteresis_is_configurable(dictionary: TelemetryDictionary) -> None:
    events = Events()
    pipeline = TelemetryPipeline(
        dictionary, "BENCH", "LAB", events, hysteresis=Hysteresis(relative=0.0, samples=2)
    )
    for n, kelvin in enumerate([301.0, 299.0, 301.0, 299.0, 299.0]):
        pipeline("bench", float(n), {"raw_temp": _counts(kelvin)})
    assert events.states() == ["entered_alarm", "back_to_normal"]
    assert events.seen[1][1]["time"] == 4.0


def test_the_non_operational_band_and_states(dictionary: TelemetryDictionary) -> None:
    events = Events()
    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB", events)
    sample = pipeline("bench", 5.0, {"raw_temp": _counts(420.0), "p": 0.5})
    crossings = sample[LIMITS_KEY]
    assert [(c["parameter"], c["band"]) for c in crossings] == [
        ("BENCH_TEMP", "operational"),
        ("BENCH_TEMP", "non_operational"),
        ("BENCH_PRESSURE", "operational"),
    ]
    assert len(events.seen) == 3 and pipeline.crossings == 3
    states = pipeline.states()
    assert set(states) == {"BENCH_TEMP", "BENCH_PRESSURE"}  # only parameters with limits
    assert states["BENCH_TEMP"]["non_operational"] == {
        "state": "alarm",
        "side": "high",
        "since": 5.0,
    }
    assert (
        states["BENCH_PRESSURE"]["value"] == 0.5
        and "non_operational" not in states["BENCH_PRESSURE"]
    )
    assert pipeline.alarms() == ["BENCH_TEMP", "BENCH_PRESSURE"]


def test_synoptics_follow_the_site_column(dictionary: TelemetryDictionary) -> None:
    lab = TelemetryPipeline(dictionary, "BENCH", "LAB")
    sample = lab("bench", 1.0, {"raw_temp": 400, "p": 1e-4})
    assert sample[SYNOPTICS_KEY] == {
        "SYN_TEMP_CRYO": 190.0,
        "SYN_STAGE": 190.0,
        "SYN_PRESSURE": 1e-4,
    }
    assert lab.synoptics({"BENCH_TEMP": 80.0}) == {"SYN_TEMP_CRYO": 80.0, "SYN_STAGE": 80.0}
    # At CSL the cold stage is the chamber's thermocouple; the bench feeds nothing.
    csl_bench = TelemetryPipeline(dictionary, "BENCH", "CSL")
    assert SYNOPTICS_KEY not in csl_bench("bench", 1.0, {"raw_temp": 400})
    csl_chamber = TelemetryPipeline(dictionary, "CHAMBER", "CSL")
    assert csl_chamber("chamber", 1.0, {"tc1": 90.0})[SYNOPTICS_KEY] == {"SYN_TEMP_CRYO": 90.0}


def test_split_sample_separates_the_three_origins(dictionary: TelemetryDictionary) -> None:
    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB")
    split = split_sample(pipeline("bench", 1.0, {"raw_temp": _counts(350.0)}))
    assert split.values == {"BENCH_TEMP": 350.0}
    assert [c["state"] for c in split.crossings] == ["entered_alarm"]
    assert split.synoptics == {"SYN_TEMP_CRYO": 350.0, "SYN_STAGE": 350.0}
    assert split_sample({"A": 1}) == ({"A": 1}, [], {})


def test_a_failing_notify_does_not_cost_the_sample(dictionary: TelemetryDictionary) -> None:
    def broken(event: str, data: dict[str, Any]) -> None:
        raise RuntimeError("listener gone")

    pipeline = TelemetryPipeline(dictionary, "BENCH", "LAB", broken)
    sample = pipeline("bench", 1.0, {"raw_temp": _counts(350.0)})
    assert sample["BENCH_TEMP"] == 350.0 and len(sample[LIMITS_KEY]) == 1


def test_unknown_origin_or_site_is_refused(dictionary: TelemetryDictionary) -> None:
    with pytest.raises(UnknownOrigin):
        TelemetryPipeline(dictionary, "NOPE", "LAB")
    with pytest.raises(UnknownSite):
        TelemetryPipeline(dictionary, "BENCH", "SRON")
