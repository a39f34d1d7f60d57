"""The 336 driver, tested by replaying command/response pairs (no socket, no simulator)."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.devices.tempctl import (
    HeaterRange,
    HeaterStatus,
    OutputMode,
    TempCtlController,
)
from controlroom.testing import expected_protocol


def test_identify_and_readings() -> None:
    pairs = [
        ("*IDN?", "LSCI,MODEL336,LSA1234/#######,2.9"),
        ("KRDG? B", "+077.350"),
        ("KRDG? 0", "+077.350,+077.351,+095.900,+293.150"),
        ("CRDG? A", "-195.800"),
        ("SRDG? A", "+1.02600"),
        ("RDGST? D", "0"),
    ]
    with expected_protocol(TempCtlController, pairs) as tc:
        assert tc.identify().startswith("LSCI,MODEL336")
        assert tc.temperature("b") == 77.35
        assert tc.temperatures() == [77.35, 77.351, 95.9, 293.15]
        assert tc.temperature_celsius() == -195.8
        assert tc.sensor_reading("A") == 1.026
        assert tc.reading_status("D") == 0


def test_settings_are_checked_with_the_event_status_register() -> None:
    pairs = [
        ("SETP 1,300.0;*ESR?", "0"),
        ("RANGE 2,3;*ESR?", "0"),
        ("PID 1,50.0,20.0,0.0;*ESR?", "0"),
        ("RAMP 1,1,2.5;*ESR?", "0"),
        ("OUTMODE 1,1,1,0;*ESR?", "0"),
        ("OUTMODE 2,3,0,1;*ESR?", "0"),
        ('INNAME A,"cold plate";*ESR?', "0"),
        ("MOUT 2,12.5;*ESR?", "0"),
    ]
    with expected_protocol(TempCtlController, pairs) as tc:
        tc.set_setpoint(1, 300)
        tc.set_heater_range(2, HeaterRange.HIGH)
        tc.set_pid(1, 50, 20, 0)
        tc.set_ramp(1, True, 2.5)
        tc.set_output_mode(1, OutputMode.CLOSED_LOOP, "A")
        tc.set_output_mode(2, OutputMode.OPEN_LOOP, None, True)
        tc.set_input_name("A", "cold plate")
        tc.set_manual_output(2, 12.5)


def test_a_refused_setting_raises() -> None:
    with expected_protocol(TempCtlController, [("SETP 1,300.0;*ESR?", "16")]) as tc:
        with pytest.raises(CommandRefused, match="could not execute"):
            tc.set_setpoint(1, 300)
    with expected_protocol(TempCtlController, [("RANGE 1,1;*ESR?", "32")]) as tc:
        with pytest.raises(CommandRefused, match="did not understand"):
            tc.set_heater_range(1, HeaterRange.LOW)


def test_bad_arguments_never_reach_the_instrument() -> None:
    with expected_protocol(TempCtlController, []) as tc:
        with pytest.raises(ArgumentError):
            tc.set_setpoint(3, 300)
        with pytest.raises(ArgumentError):
            tc.set_setpoint(1, 2000)
        with pytest.raises(ArgumentError):
            tc.temperature("E")
        with pytest.raises(ArgumentError):
            tc.set_input_name("A", "a name that is far too long")
        with pytest.raises(ArgumentError):
            tc.set_heater_range(1, 7)


def test_queries_parse_to_domain_types() -> None:
    pairs = [
        ("RANGE? 1", "2"),
        ("HTRST? 1", "1"),
        ("OUTMODE? 2", "3,0,1"),
        ("PID? 1", "+0050.0,+0020.0,+000.0"),
        ("RAMP? 1", "1,+002.5"),
        ("RAMPST? 1", "1"),
        ("INNAME? C", '"shield         "'),
        ("HTR? 2", "+045.2"),
        ("SETP? 2", "+000.000"),
        ("MOUT? 1", "+12.50"),
    ]
    with expected_protocol(TempCtlController, pairs) as tc:
        assert tc.heater_range() is HeaterRange.MEDIUM
        assert tc.heater_status() is HeaterStatus.OPEN_LOAD
        assert tc.output_mode(2) == {
            "mode": OutputMode.OPEN_LOOP,
            "input": None,
            "powerup_enable": True,
        }
        assert tc.pid() == [50.0, 20.0, 0.0]
        assert tc.ramp() == {"enabled": True, "rate": 2.5}
        assert tc.ramping() is True
        assert tc.input_name("C") == "shield"
        assert tc.heater_output(2) == 45.2
        assert tc.setpoint(2) == 0.0
        assert tc.manual_output() == 12.5


def test_garbage_replies_raise_reply_errors() -> None:
    with expected_protocol(TempCtlController, [("KRDG? A", "T=77K")]) as tc:
        with pytest.raises(ReplyError, match="T=77K"):
            tc.temperature()


def test_ramp_to_is_two_exchanges() -> None:
    pairs = [("RAMP 1,1,5.0;*ESR?", "0"), ("SETP 1,310.0;*ESR?", "0")]
    with expected_protocol(TempCtlController, pairs) as tc:
        tc.ramp_to(1, 310, 5)


def test_housekeeping_is_one_exchange() -> None:
    query = "KRDG? 0;HTR? 1;HTR? 2;SETP? 1;SETP? 2;RAMPST? 1;RAMPST? 2"
    reply = "+077.35,+077.36,+095.9,+293.15;+010.0;+000.0;+080.000;+000.000;1;0"
    with expected_protocol(TempCtlController, [(query, reply)]) as tc:
        hk = tc.housekeeping()
    assert hk["temp_A"] == 77.35 and hk["temp_D"] == 293.15
    assert hk["heater_1"] == 10.0 and hk["setpoint_1"] == 80.0
    assert hk["ramping_1"] is True and hk["ramping_2"] is False
