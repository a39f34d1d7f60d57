"""The power-supply driver, tested by replaying command/response pairs (no socket, no simulator)."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.devices.psu import OutputMode, PsuController
from controlroom.testing import expected_protocol

OK = '0,"No error"'
HK_LINE = ";:".join(
    f"INST:NSEL {ch};:MEAS:VOLT?;:MEAS:CURR?;:OUTP?;:OUTP:MODE?" for ch in (1, 2, 3)
)


def test_identify_reset_and_errors() -> None:
    pairs = [
        ("*IDN?", "CONTROLROOM,SIM-PSU3,000001,1.0"),
        ("*RST", None),
        ("*CLS", None),
        ("SYST:ERR?", '-113,"Undefined header"'),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", OK),
        ("SYST:ERR?", OK),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        assert psu.identify() == "CONTROLROOM,SIM-PSU3,000001,1.0"
        psu.reset()
        psu.clear_status()
        assert psu.errors() == [(-113, "Undefined header"), (-222, "Data out of range")]
        assert psu.next_error() == (0, "No error")


def test_every_setting_selects_its_channel_in_the_same_exchange() -> None:
    pairs = [
        ("*CLS;:INST:NSEL 2;:VOLT 12.5;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:CURR 0.25;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:APPL 5.0,1.5;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 2;:OUTP ON;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 2;:OUTP OFF;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:VOLT:PROT 20.0;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:VOLT:PROT:CLE;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:CURR:PROT ON;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:CURR:PROT:DEL 0.5;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:CURR:PROT:CLE;:SYST:ERR?", OK),
        ("INST:NSEL 2", None),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        psu.set_voltage(2, 12.5)
        psu.set_current_limit(1, 0.25)
        psu.apply(3, 5, 1.5)
        psu.set_output(2, True)
        psu.set_output(2, False)
        psu.set_ovp_level(1, 20)
        psu.clear_ovp(1)
        psu.set_ocp(3, True)
        psu.set_ocp_delay(3, 0.5)
        psu.clear_ocp(3)
        psu.select_channel(2)


def test_queries_select_their_channel_and_parse() -> None:
    pairs = [
        ("INST:NSEL 2;:VOLT?", "12.500"),
        ("INST:NSEL 1;:CURR?", "0.2500"),
        ("INST:NSEL 3;:OUTP?", "1"),
        ("INST:NSEL 1;:OUTP:MODE?", "CC"),
        ("INST:NSEL 2;:OUTP:MODE?", "OFF"),
        ("INST:NSEL 1;:MEAS:VOLT?", "4.999"),
        ("INST:NSEL 1;:MEAS:CURR?", "0.5001"),
        ("INST:NSEL 1;:VOLT:PROT?", "35.200"),
        ("INST:NSEL 1;:VOLT:PROT:TRIP?", "0"),
        ("INST:NSEL 3;:CURR:PROT?", "1"),
        ("INST:NSEL 3;:CURR:PROT:DEL?", "0.500"),
        ("INST:NSEL 3;:CURR:PROT:TRIP?", "1"),
        ("INST:NSEL?", "3"),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        assert psu.voltage(2) == 12.5
        assert psu.current_limit() == 0.25
        assert psu.output(3) is True
        assert psu.mode() is OutputMode.CC
        assert psu.mode(2) is OutputMode.OFF
        assert psu.measure_voltage() == 4.999
        assert psu.measure_current(1) == 0.5001
        assert psu.ovp_level() == 35.2
        assert psu.ovp_tripped() is False
        assert psu.ocp_enabled(3) is True
        assert psu.ocp_delay(3) == 0.5
        assert psu.ocp_tripped(3) is True
        assert psu.selected_channel() == 3


def test_a_refused_setting_raises_with_the_error_number() -> None:
    refused = '-221,"Settings conflict;OVP tripped on channel 1, clear it first"'
    with expected_protocol(
        PsuController, [("*CLS;:INST:NSEL 1;:OUTP ON;:SYST:ERR?", refused)]
    ) as psu:
        with pytest.raises(CommandRefused, match="-221 Settings conflict") as caught:
            psu.set_output(1, True)
    assert caught.value.code == -221


def test_channel_ratings_are_checked_before_anything_is_sent() -> None:
    with expected_protocol(PsuController, []) as psu:
        with pytest.raises(ArgumentError, match=r"channel 3's rating of 6\.0"):
            psu.set_voltage(3, 12)
        with pytest.raises(ArgumentError, match=r"rating of 6\.6"):
            psu.set_ovp_level(3, 7)
        with pytest.raises(ArgumentError):
            psu.set_voltage(1, 33)
        with pytest.raises(ArgumentError):
            psu.set_current_limit(2, -0.1)
        with pytest.raises(ArgumentError):
            psu.apply(4, 1, 1)
        with pytest.raises(ArgumentError):
            psu.set_ocp_delay(1, 11)
        with pytest.raises(ArgumentError):
            psu.measure_voltage(0)


def test_housekeeping_and_status_are_one_exchange_each() -> None:
    hk_reply = "5.000;0.5000;1;CV;2.001;1.0000;1;CC;0.000;0.0000;0;OFF"
    status_line = ";:".join(
        f"INST:NSEL {ch};:MEAS:VOLT?;:MEAS:CURR?;:OUTP?;:OUTP:MODE?;:VOLT:PROT:TRIP?;"
        ":CURR:PROT:TRIP?"
        for ch in (1, 2, 3)
    )
    status_reply = "5.000;0.5000;1;CV;0;0;2.001;1.0000;1;CC;0;0;0.000;0.0000;0;OFF;1;0"
    with expected_protocol(
        PsuController, [(HK_LINE, hk_reply), (status_line, status_reply)]
    ) as psu:
        assert psu.housekeeping() == {
            "voltage_1": 5.0,
            "current_1": 0.5,
            "output_1": True,
            "mode_1": "CV",
            "voltage_2": 2.001,
            "current_2": 1.0,
            "output_2": True,
            "mode_2": "CC",
            "voltage_3": 0.0,
            "current_3": 0.0,
            "output_3": False,
            "mode_3": "OFF",
        }
        status = psu.status()
    assert status["ovp_tripped_3"] is True and status["ocp_tripped_3"] is False
    assert status["mode_2"] == "CC" and len(status) == 18


def test_garbage_replies_raise_reply_errors() -> None:
    pairs = [
        ("INST:NSEL 1;:MEAS:VOLT?", "V=5"),
        ("INST:NSEL 1;:OUTP?", "maybe"),
        ("INST:NSEL 1;:OUTP:MODE?", "UR"),
        ("SYST:ERR?", "oops"),
        (HK_LINE, "1.0;2.0"),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        with pytest.raises(ReplyError, match="V=5"):
            psu.measure_voltage()
        with pytest.raises(ReplyError, match="maybe"):
            psu.output()
        with pytest.raises(ReplyError, match="UR"):
            psu.mode()
        with pytest.raises(ReplyError, match="oops"):
            psu.next_error()
        with pytest.raises(ReplyError, match="expected 12 replies"):
            psu.housekeeping()


def test_an_error_queue_that_never_empties_is_reported() -> None:
    pairs = [("SYST:ERR?", '-350,"Queue overflow"')] * 11
    with expected_protocol(PsuController, pairs) as psu:
        with pytest.raises(ReplyError, match="did not empty"):
            psu.errors()
