"""The shipped telemetry dictionary's PSU section matches what the driver publishes."""

from __future__ import annotations

from typing import Any

from controlroom.device.transports.inproc import InProcessTransport
from controlroom.devices.psu import PsuController
from controlroom.devices.psu.sim.server import NO_DELAYS, PsuSimulator
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary, split_sample


def _housekeeping(lines: list[str]) -> dict[str, Any]:
    """HK of a simulated supply after the given SCPI lines (no socket: in process)."""
    simulator = PsuSimulator(delays=NO_DELAYS)
    for line in lines:
        simulator.handle_line(line)
    with PsuController(InProcessTransport(simulator.handle_line)) as psu:
        return psu.housekeeping()


def test_every_psu_hk_name_is_in_the_dictionary() -> None:
    dictionary = shipped_dictionary()
    hk = _housekeeping([])
    assert set(hk) == {p.original for p in dictionary.parameters("PSU")}
    pipeline = TelemetryPipeline(dictionary, "PSU", "LAB")
    sample = pipeline("psu", 1.0, hk)
    assert not pipeline.unknown
    assert "_limits" not in sample  # a supply at rest raises no alarm
    assert set(split_sample(sample).values) == set(dictionary.names("PSU"))


def test_units_and_an_output_at_its_rating() -> None:
    dictionary = shipped_dictionary()
    assert {dictionary.parameter(f"PSU_VOLTAGE_{ch}").unit for ch in (1, 2, 3)} == {"V"}
    assert {dictionary.parameter(f"PSU_CURRENT_{ch}").unit for ch in (1, 2, 3)} == {"A"}
    pipeline = TelemetryPipeline(dictionary, "PSU", "LAB")
    # 6 V on the 6 V channel: at its rating, inside both bands (limits are inclusive).
    sample = pipeline("psu", 1.0, _housekeeping(["INST:NSEL 3;APPL 6,3;OUTP ON"]))
    assert sample["PSU_OUTPUT_3"] is True and sample["PSU_MODE_3"] in ("CV", "CC")
    assert "_limits" not in sample
