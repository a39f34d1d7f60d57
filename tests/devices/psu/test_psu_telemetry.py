"""The shipped telemetry dictionary's PSU section matches what the driver publishes."""

from __future__ import annotations

from typing import Any

from controlroom.device.transports.inproc import InProcessTransport
from controlroom.devices.psu import PsuController
from controlroom.devices.psu.sim.server import NO_DELAYS, PsuSimulator
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary, split_sample

CHANNELS = (1, 2, 3, 4)


def _housekeeping(lines: list[str], settle_s: float = 0.0) -> dict[str, Any]:
    """HK of a simulated supply ``settle_s`` after the given SCPI lines (in process)."""
    now = [0.0]
    simulator = PsuSimulator(clock=lambda: now[0], delays=NO_DELAYS)
    for line in lines:
        simulator.handle_line(line)
    now[0] += settle_s
    with PsuController(InProcessTransport(simulator.handle_line)) as psu:
        return psu.housekeeping()


def test_every_psu_hk_name_is_in_the_dictionary() -> None:
    dictionary = shipped_dictionary()
    hk = _housekeeping([])
    assert {f"voltage_{ch}" for ch in CHANNELS} <= set(hk)
    assert set(hk) == {p.original for p in dictionary.parameters("PSU")}
    pipeline = TelemetryPipeline(dictionary, "PSU", "LAB")
    sample = pipeline("psu", 1.0, hk)
    assert not pipeline.unknown
    assert "_limits" not in sample  # a supply at rest raises no alarm
    assert set(split_sample(sample).values) == set(dictionary.names("PSU"))


def test_units_and_an_output_at_its_rating() -> None:
    dictionary = shipped_dictionary()
    assert {dictionary.parameter(f"PSU_VOLTAGE_{ch}").unit for ch in CHANNELS} == {"V"}
    assert {dictionary.parameter(f"PSU_CURRENT_{ch}").unit for ch in CHANNELS} == {"A"}
    pipeline = TelemetryPipeline(dictionary, "PSU", "LAB")
    # Every output at the top of its range, settled: inside both bands (limits are inclusive).
    lines = [f"INST:NSEL {ch};APPL MAX,MAX;OUTP:SEL ON" for ch in CHANNELS] + ["OUTP:GEN ON"]
    sample = pipeline("psu", 1.0, _housekeeping(lines, settle_s=2.0))
    assert sample["PSU_VOLTAGE_1"] > 20.0 and sample["PSU_OUTPUT_4"] is True
    assert sample["PSU_MODE_4"] == "CC"  # 3 ohm: held by the power limits
    assert "_limits" not in sample
