"""The HMP4040 driver, tested by replaying command/response pairs (no socket, no simulator)."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.devices.psu import OutputMode, PsuController
from controlroom.testing import expected_protocol

OK = '0,"No error"'
IDN = "ROHDE&SCHWARZ,HMP4040,000001,HW50020003/SW2.70"
HK_LINE = ";:".join(
    f"INST:NSEL {ch};:MEAS:VOLT?;:MEAS:CURR?;:OUTP:STAT?;:STAT:QUES:INST:ISUM{ch}:COND?"
    for ch in (1, 2, 3, 4)
)


def test_identify_reset_and_errors() -> None:
    pairs = [
        ("*IDN?", IDN),
        ("*RST", None),
        ("*CLS", None),
        ("SYST:ERR?", '-113,"Undefined header"'),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", OK),
        ("SYST:ERR?", OK),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        assert psu.identify() == IDN
        psu.reset()
        psu.clear_status()
        assert psu.errors() == [(-113, "Undefined header"), (-222, "Data out of range")]
        assert psu.next_error() == (0, "No error")


def test_every_setting_selects_its_channel_in_the_same_exchange() -> None:
    pairs = [
        ("*CLS;:INST:NSEL 2;:VOLT 12.5;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:CURR 0.25;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 4;:APPL 5.0,1.5;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 2;:OUTP:STAT ON;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 2;:OUTP:STAT OFF;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:OUTP:SEL ON;:SYST:ERR?", OK),
        ("*CLS;:OUTP:GEN ON;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:VOLT:PROT 20.0;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 1;:VOLT:PROT:CLE;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:FUSE:STAT ON;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:FUSE:DEL 100;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:FUSE:LINK 4;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:FUSE:UNL 4;:SYST:ERR?", OK),
        ("*CLS;:INST:NSEL 3;:OUTP:SEL OFF;:SYST:ERR?", OK),
        ("INST:NSEL 4", None),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        psu.set_voltage(2, 12.5)
        psu.set_current_limit(1, 0.25)
        psu.apply(4, 5, 1.5)
        psu.set_output(2, True)
        psu.set_output(2, False)
        psu.select_output(3, True)
        psu.set_general_output(True)
        psu.set_ovp_level(1, 20)
        psu.clear_ovp(1)
        psu.set_ocp(3, True)
        psu.set_ocp_delay(3, 0.1)  # seconds here, milliseconds on the wire
        psu.link_fuse(3, 4)
        psu.unlink_fuse(3, 4)
        psu.clear_ocp(3)  # the HMP has no clear: switching the channel clears the trip
        psu.select_channel(4)


def test_queries_select_their_channel_and_parse() -> None:
    pairs = [
        ("INST:NSEL 2;:VOLT?", "12.500"),
        ("INST:NSEL 1;:CURR?", "0.2500"),
        ("INST:NSEL 4;:OUTP:STAT?", "1"),
        ("INST:NSEL 3;:OUTP:SEL?", "1"),
        ("OUTP:GEN?", "0"),
        ("STAT:QUES:INST:ISUM1:COND?", "1"),
        ("STAT:QUES:INST:ISUM4:COND?", "2"),
        ("STAT:QUES:INST:ISUM2:COND?", "0"),
        ("STAT:QUES:INST:ISUM3:COND?", "1025"),  # CC, and the fuse bit
        ("INST:NSEL 1;:MEAS:VOLT?", "4.999"),
        ("INST:NSEL 1;:MEAS:CURR?", "0.5001"),
        ("INST:NSEL 1;:VOLT:PROT?", "33.000"),
        ("INST:NSEL 1;:VOLT:PROT:TRIP?", "0"),
        ("INST:NSEL 3;:FUSE:STAT?", "1"),
        ("INST:NSEL 3;:FUSE:DEL?", "50"),
        ("INST:NSEL 3;:FUSE:TRIP?", "1"),
        ("INST:NSEL?", "3"),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        assert psu.voltage(2) == 12.5
        assert psu.current_limit() == 0.25
        assert psu.output(4) is True
        assert psu.output_selected(3) is True
        assert psu.general_output() is False
        assert psu.mode() is OutputMode.CC
        assert psu.mode(4) is OutputMode.CV
        assert psu.mode(2) is OutputMode.OFF
        assert psu.mode(3) is OutputMode.CC
        assert psu.measure_voltage() == 4.999
        assert psu.measure_current(1) == 0.5001
        assert psu.ovp_level() == 33.0
        assert psu.ovp_tripped() is False
        assert psu.ocp_enabled(3) is True
        assert psu.ocp_delay(3) == 0.05
        assert psu.ocp_tripped(3) is True
        assert psu.selected_channel() == 3


def test_a_refused_setting_raises_with_the_error_number() -> None:
    refused = '-221,"Settings conflict;OVP tripped on channel 1, clear it first"'
    with expected_protocol(
        PsuController, [("*CLS;:INST:NSEL 1;:OUTP:STAT ON;:SYST:ERR?", refused)]
    ) as psu:
        with pytest.raises(CommandRefused, match="-221 Settings conflict") as caught:
            psu.set_output(1, True)
    assert caught.value.code == -221


def test_ratings_are_checked_before_anything_is_sent() -> None:
    with expected_protocol(PsuController, []) as psu:
        for bad in (
            lambda: psu.set_voltage(1, 32.1),
            lambda: psu.set_current_limit(2, 10.1),
            lambda: psu.set_current_limit(2, -0.1),
            lambda: psu.set_ovp_level(3, 33.5),
            lambda: psu.apply(5, 1, 1),
            lambda: psu.set_ocp_delay(1, 0.3),  # the fuse waits 250 ms at most
            lambda: psu.measure_voltage(0),
        ):
            with pytest.raises(ArgumentError):
                bad()
        with pytest.raises(ArgumentError, match="linked to itself"):
            psu.link_fuse(2, 2)


def test_housekeeping_and_status_are_one_exchange_each() -> None:
    hk_reply = ";".join(
        ["5.000;0.5000;1;2", "2.001;1.0000;1;1", "0.000;0.0000;0;0", "21.909;7.3030;1;1"]
    )
    status_line = ";:".join(
        f"INST:NSEL {ch};:MEAS:VOLT?;:MEAS:CURR?;:OUTP:STAT?;:STAT:QUES:INST:ISUM{ch}:COND?;"
        ":VOLT:PROT:TRIP?;:FUSE:TRIP?"
        for ch in (1, 2, 3, 4)
    )
    status_reply = ";".join(
        ["5.000;0.5000;1;2;0;0", "2.001;1.0000;1;1;0;0", "0.000;0.0000;0;0;1;0", "0;0;0;0;0;1"]
    )
    with expected_protocol(
        PsuController, [(HK_LINE, hk_reply), (status_line, status_reply)]
    ) as psu:
        hk = psu.housekeeping()
        status = psu.status()
    assert hk["voltage_1"] == 5.0 and hk["mode_1"] == "CV" and hk["output_1"] is True
    assert hk["mode_2"] == "CC" and hk["mode_3"] == "OFF" and hk["output_3"] is False
    assert hk["current_4"] == 7.303 and hk["mode_4"] == "CC"
    assert len(hk) == 16
    assert status["ovp_tripped_3"] is True and status["ocp_tripped_3"] is False
    assert status["ocp_tripped_4"] is True and len(status) == 24


def test_garbage_replies_raise_reply_errors() -> None:
    pairs = [
        ("INST:NSEL 1;:MEAS:VOLT?", "V=5"),
        ("INST:NSEL 1;:OUTP:STAT?", "maybe"),
        ("STAT:QUES:INST:ISUM1:COND?", "CV"),
        ("SYST:ERR?", "oops"),
        (HK_LINE, "1.0;2.0"),
    ]
    with expected_protocol(PsuController, pairs) as psu:
        with pytest.raises(ReplyError, match="V=5"):
            psu.measure_voltage()
        with pytest.raises(ReplyError, match="maybe"):
            psu.output()
        with pytest.raises(ReplyError, match="status condition"):
            psu.mode()
        with pytest.raises(ReplyError, match="oops"):
            psu.next_error()
        with pytest.raises(ReplyError, match="expected 16 replies"):
            psu.housekeeping()


def test_an_error_queue_that_never_empties_is_reported() -> None:
    pairs = [("SYST:ERR?", '-350,"Queue overflow"')] * 11
    with expected_protocol(PsuController, pairs) as psu:
        with pytest.raises(ReplyError, match="did not empty"):
            psu.errors()


def test_outputs_off_switches_the_master_output_and_interrupts() -> None:
    with expected_protocol(PsuController, [("*CLS;:OUTP:GEN OFF;:SYST:ERR?", OK)]) as psu:
        psu.outputs_off()
    interrupting = {n for n, spec in PsuController.commands().items() if spec.interrupts}
    assert interrupting == {"outputs_off"}
