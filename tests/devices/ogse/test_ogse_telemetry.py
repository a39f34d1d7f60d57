"""The OGSE section of the shipped telemetry dictionary matches the driver's housekeeping."""

from __future__ import annotations

from typing import Any

from controlroom.devices.ogse import OGSEController
from controlroom.devices.ogse.sim.server import OGSESimulator
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary, split_sample
from controlroom.testing import expected_protocol


def _hk_at_rest() -> dict[str, Any]:
    # Real replies of a simulator just switched on, replayed through the driver.
    sim = OGSESimulator(latency=0)
    pairs = [(line, sim.handle_line(line)) for line in ("status", "status", "get flags")]
    with expected_protocol(OGSEController, pairs) as ogse:
        ogse.status()
        hk: dict[str, Any] = ogse.housekeeping()
    return hk


def test_every_ogse_hk_name_is_in_the_dictionary() -> None:
    dictionary = shipped_dictionary()
    hk = _hk_at_rest()
    assert set(hk) == {p.original for p in dictionary.parameters("OGSE")}
    pipeline = TelemetryPipeline(dictionary, "OGSE", "LAB")
    values = split_sample(pipeline("ogse", 1.0, hk)).values
    assert not pipeline.unknown
    assert set(values) == set(dictionary.names("OGSE"))


def test_units_and_an_ogse_at_rest_raises_no_alarm() -> None:
    dictionary = shipped_dictionary()
    assert dictionary.parameter("OGSE_PM1_POWER").unit == "W"
    assert dictionary.parameter("OGSE_PM2_TEMP").unit == "degC"
    sample = TelemetryPipeline(dictionary, "OGSE", "LAB")("ogse", 1.0, _hk_at_rest())
    assert "_limits" not in sample
    assert sample["OGSE_ATT_FACTOR"] == 1.0 and sample["OGSE_LAMP_ON"] is False
