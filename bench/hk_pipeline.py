"""Cost of the telemetry pipeline per housekeeping sample, against a bare renaming.

Prints one JSON object::

    {"pipeline_us", "baseline_us", "overhead_us", "target_us", "within_target", "parameters"}

``pipeline_us`` is one call of the :class:`TelemetryPipeline` a control
server runs as its ``hk_transform`` (names translated, values calibrated,
limits checked, synoptics derived), for a temperature controller's sample of
the shipped dictionary, every value inside its limits (the usual case).
``baseline_us`` is the least any transform does to the same sample: a dict
comprehension renaming each key. Both are measured in alternating rounds and
each figure is the median over rounds. Target: well under 100 µs a sample,
so the pipeline never limits a housekeeping rate.

    python bench/hk_pipeline.py [--rounds 9] [--samples 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from controlroom.telemetry import TelemetryPipeline, shipped_dictionary

TARGET_US = 100.0
ORIGIN, SITE = "TEMPCTL", "LAB"

# What a LakeShore 336 control server reads each period, all values within limits.
SAMPLE: dict[str, Any] = {
    "temp_A": 120.0,
    "temp_B": 100.0,
    "temp_C": 110.0,
    "temp_D": 290.0,
    "heater_1": 35.0,
    "heater_2": 12.5,
    "setpoint_1": 120.0,
    "setpoint_2": 100.0,
    "ramping_1": False,
    "ramping_2": False,
}

Transform = Callable[[str, float, dict[str, Any]], dict[str, Any]]


def renaming() -> Transform:
    """The baseline: the same keys renamed, nothing else."""
    names = {original: f"{ORIGIN}_{original.upper()}" for original in SAMPLE}

    def rename(server: str, when: float, values: dict[str, Any]) -> dict[str, Any]:
        return {names.get(key, key): value for key, value in values.items()}

    return rename


def per_sample_us(transform: Transform, samples: int) -> float:
    clock = time.perf_counter
    start = clock()
    for n in range(samples):
        transform("tempctl", float(n), SAMPLE)
    return (clock() - start) / samples * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    pipeline = TelemetryPipeline(shipped_dictionary(), ORIGIN, SITE)
    subjects: dict[str, Transform] = {"pipeline": pipeline, "baseline": renaming()}
    rounds: dict[str, list[float]] = {name: [] for name in subjects}
    for transform in subjects.values():
        per_sample_us(transform, 500)  # warm up
    for _ in range(args.rounds):
        for name, transform in subjects.items():
            rounds[name].append(per_sample_us(transform, args.samples))
    pipeline_us = statistics.median(rounds["pipeline"])
    baseline_us = statistics.median(rounds["baseline"])
    assert pipeline.crossings == 0, "the sample should stay within its limits"
    figures = {
        "pipeline_us": round(pipeline_us, 2),
        "baseline_us": round(baseline_us, 3),
        "overhead_us": round(pipeline_us - baseline_us, 2),
        "target_us": TARGET_US,
        "within_target": pipeline_us < TARGET_US,
        "parameters": len(SAMPLE),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
