"""The example dictionary shipped with the package covers the shipped devices."""

from __future__ import annotations

from typing import Any

import pytest

from controlroom.devices.dummy import DummySensor
from controlroom.devices.tempctl import TempCtlController
from controlroom.telemetry import (
    SYNOPTICS_KEY,
    TelemetryPipeline,
    shipped_dictionary,
    shipped_dictionary_path,
    split_sample,
)
from controlroom.testing import expected_protocol

HK_QUERY = "KRDG? 0;HTR? 1;HTR? 2;SETP? 1;SETP? 2;RAMPST? 1;RAMPST? 2"
HK_REPLY = "+077.35,+077.36,+095.9,+293.15;+010.0;+000.0;+080.000;+000.000;1;0"


def _tempctl_hk() -> dict[str, Any]:
    with expected_protocol(TempCtlController, [(HK_QUERY, HK_REPLY)]) as tc:
        hk: dict[str, Any] = tc.housekeeping()
    return hk


def _dummy_hk() -> dict[str, Any]:
    return dict(DummySensor().housekeeping())


def test_the_shipped_dictionary_loads() -> None:
    dictionary = shipped_dictionary()
    assert shipped_dictionary_path().name == "telemetry.csv"
    # Each shipped device adds its section; these are the ones checked here.
    assert {"SYN", "TEMPCTL", "DUMMY", "OGSE"} <= set(dictionary.origins())
    assert dictionary.sites == ("LAB",)


@pytest.mark.parametrize(("origin", "sample"), [("TEMPCTL", _tempctl_hk), ("DUMMY", _dummy_hk)])
def test_every_hk_name_of_the_shipped_devices_is_known(origin: str, sample: Any) -> None:
    dictionary = shipped_dictionary()
    hk = sample()
    known = {p.original for p in dictionary.parameters(origin)}
    assert set(hk) == known  # no name missing, none left over
    pipeline = TelemetryPipeline(dictionary, origin, "LAB")
    values = split_sample(pipeline(origin.lower(), 1.0, hk)).values
    assert not pipeline.unknown
    assert set(values) == set(dictionary.names(origin))


def test_the_tempctl_units_and_limits_suit_the_simulated_cryostat() -> None:
    dictionary = shipped_dictionary()
    assert {dictionary.parameter(f"TEMPCTL_TEMP_{x}").unit for x in "ABCD"} == {"K"}
    assert dictionary.parameter("TEMPCTL_HEATER_1").unit == "%"
    assert dictionary.parameter("DUMMY_TEMP").unit == "degC"
    pipeline = TelemetryPipeline(dictionary, "TEMPCTL", "LAB")
    sample = pipeline("tempctl", 1.0, _tempctl_hk())
    assert "_limits" not in sample  # a cryostat at rest raises no alarm
    assert sample[SYNOPTICS_KEY] == {"SYN_TEMP_CRYO": 77.35, "SYN_TEMP_SHIELD": 95.9}


def test_the_dummy_at_rest_raises_no_alarm() -> None:
    pipeline = TelemetryPipeline(shipped_dictionary(), "DUMMY", "LAB")
    sample = pipeline("dummy", 1.0, _dummy_hk())
    assert "_limits" not in sample
    assert sample[SYNOPTICS_KEY] == {"SYN_TEMP_ROOM": sample["DUMMY_TEMP"]}
