"""The DAQ driver, tested by replaying command/response pairs (no socket, no simulator)."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.devices.daq import (
    DaqController,
    DaqError,
    ScanTimeout,
    TcType,
    TempUnit,
    Transducer,
)
from controlroom.devices.daq.channels import (
    ALL_CHANNELS,
    ChannelListError,
    format_channels,
    parse_channels,
    parse_scan_reply,
    scpi_list,
)
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary, split_sample
from controlroom.testing import expected_protocol

OK = '0,"No error;0;0 0"'
STAMP = "1;2024/05/01 10:00:00.000"
DATA = '*CLS;:TRAC:DATA? 1, {}, "defbuffer1", READ;:SYST:ERR?'
SETUP = "*CLS;:ROUT:SCAN:CRE?;:ROUT:SCAN:COUN:SCAN?;:SYST:ERR?"
INIT = '*CLS;:ROUT:SCAN:BUFF "defbuffer1";:TRAC:CLE "defbuffer1";:INIT;:SYST:ERR?'
READ = (
    '*CLS;:ROUT:SCAN:BUFF "defbuffer1";:TRAC:CLE "defbuffer1";:INIT;*WAI;'
    ':TRAC:ACT? "defbuffer1";:SYST:ERR?'
)


def test_identification_and_plain_queries() -> None:
    pairs = [
        ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL DAQ6510,04412345,1.7.12b"),
        ("SYST:LFR?", "50"),
        ("SYST:ERR?", f'-113,"Undefined header;{STAMP}"'),
        ("SYST:ERR?", OK),
        ("*OPC?", "1"),
        ("TRIG:STAT?", "RUNNING;RUNNING;0"),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        assert "DAQ6510" in daq.identify()
        assert daq.line_frequency() == 50.0
        assert daq.next_error() == (-113, "Undefined header")
        assert daq.next_error() == (0, "No error")
        assert daq.operation_complete() is True
        assert daq.measuring() is True
        assert daq.measuring() is False


def test_settings_are_one_line_checked_with_the_error_queue() -> None:
    pairs = [
        ("*CLS;*RST;:SYST:ERR?", OK),
        ('*CLS;:SENS:FUNC "TEMP", (@101:120,201);:SYST:ERR?', OK),
        ("*CLS;:SENS:TEMP:TRAN FRTD, (@201:204);:SYST:ERR?", OK),
        ("*CLS;:SENS:TEMP:TC:TYPE T, (@105);:SYST:ERR?", OK),
        ("*CLS;:SENS:TEMP:UNIT CELS, (@101:103);:SYST:ERR?", OK),
        ("*CLS;:SENS:TEMP:NPLC 10.0, (@101:110);:SYST:ERR?", OK),
        ("*CLS;:ROUT:SCAN:CRE (@101:110,201);:SYST:ERR?", OK),
        ("*CLS;:ROUT:SCAN:COUN:SCAN 5;:SYST:ERR?", OK),
        (INIT, OK),
        ("*CLS;:ABOR;:SYST:ERR?", OK),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        daq.reset()
        daq.set_function_temperature("101:120, 201")
        daq.set_transducer("201:204", Transducer.FRTD)
        daq.set_tc_type("105", "T")
        daq.set_unit("(@101:103)", TempUnit.C)
        daq.set_nplc("101:110", 10)
        daq.set_scan_list("101:105,106:110,201")  # sent in its compact form
        daq.set_scan_count(5)
        daq.initiate()
        daq.abort()


def test_configure_is_one_exchange() -> None:
    where = "(@101:104)"
    tc_line = (
        f'*CLS;:SENS:FUNC "TEMP", {where};:SENS:TEMP:TRAN TC, {where};'
        f":SENS:TEMP:TC:TYPE K, {where};:SENS:TEMP:ODET ON, {where};"
        f":SENS:TEMP:UNIT KELV, {where};:SENS:TEMP:NPLC 1.0, {where};:SYST:ERR?"
    )
    rtd_line = (
        '*CLS;:SENS:FUNC "TEMP", (@201);:SENS:TEMP:TRAN FRTD, (@201);'
        ":SENS:TEMP:UNIT CELS, (@201);:SENS:TEMP:NPLC 0.5, (@201);:SYST:ERR?"
    )
    with expected_protocol(DaqController, [(tc_line, OK), (rtd_line, OK)]) as daq:
        daq.configure("101:104")
        daq.configure("201", Transducer.FRTD, unit=TempUnit.C, nplc=0.5)


def test_checked_queries_parse_to_domain_types() -> None:
    pairs = [
        ("*CLS;:ROUT:SCAN:CRE?;:SYST:ERR?", f"(@101:103,201);{OK}"),
        ("*CLS;:ROUT:SCAN:CRE?;:SYST:ERR?", f"(@);{OK}"),
        ("*CLS;:ROUT:SCAN:COUN:SCAN?;:SYST:ERR?", f"3;{OK}"),
        ("*CLS;:SENS:TEMP:NPLC? (@105);:SYST:ERR?", f"10;{OK}"),
        ("*CLS;:SENS:TEMP:TRAN? (@201);:SYST:ERR?", f"FRTD;{OK}"),
        ("*CLS;:SENS:TEMP:TC:TYPE? (@105);:SYST:ERR?", f"T;{OK}"),
        ("*CLS;:SENS:TEMP:UNIT? (@101);:SYST:ERR?", f"KELV;{OK}"),
        ("*CLS;:SENS:TEMP:UNIT? (@102);:SYST:ERR?", f"CELS;{OK}"),
        ("*CLS;:SENS:FUNC? (@220);:SYST:ERR?", f"NONE;{OK}"),
        ("*CLS;:MEAS:TEMP? (@105);:SYST:ERR?", f"2.931500000E+02;{OK}"),
        ("*CLS;:MEAS:TEMP? (@106);:SYST:ERR?", f"9.900000000E+37;{OK}"),
        ('*CLS;:TRAC:ACT? "defbuffer1";:SYST:ERR?', f"2;{OK}"),
        (DATA.format(2), f"2.9E+02,9.9E+37;{OK}"),
        ('*CLS;:TRAC:ACT? "defbuffer1";:SYST:ERR?', f"0;{OK}"),
        (READ, f"1;{OK}"),
        (DATA.format(1), f"7.7E+01;{OK}"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        assert daq.scan_list() == [101, 102, 103, 201]
        assert daq.scan_list() == []
        assert daq.scan_count() == 3
        assert daq.nplc(105) == 10.0
        assert daq.transducer(201) is Transducer.FRTD
        assert daq.tc_type(105) is TcType.T
        assert daq.unit(101) is TempUnit.K
        assert daq.unit(102) is TempUnit.C
        assert daq.function(220) == "NONE"
        assert daq.measure(105) == 293.15
        assert daq.measure(106) is None  # an open thermocouple reads as overflow
        assert daq.fetch() == [290.0, None]
        assert daq.fetch() == []  # an empty buffer: no TRAC:DATA? to refuse
        assert daq.read() == [77.0]


def test_refused_commands_raise_with_the_scpi_error() -> None:
    pairs = [
        ("*CLS;:ROUT:SCAN:CRE (@205);:SYST:ERR?", f'-221,"Settings conflict, 205;{STAMP}"'),
        ("*CLS;:MEAS:TEMP? (@205);:SYST:ERR?", f'-221,"Settings conflict, 205;{STAMP}"'),
        ('*CLS;:TRAC:ACT? "defbuffer1";:SYST:ERR?', f"3;{OK}"),
        (DATA.format(3), f'-222,"Data out of range;{STAMP}"'),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        with pytest.raises(CommandRefused, match="-221") as caught:
            daq.set_scan_list("205")
        assert caught.value.code == -221
        assert caught.value.message == "Settings conflict, 205"  # no severity, no time
        with pytest.raises(CommandRefused, match="Settings conflict"):
            daq.measure(205)
        with pytest.raises(CommandRefused, match="-222"):
            daq.fetch()


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("set_nplc", ("101", 0.0001)),  # shorter than the DAQ6510 integrates
        ("set_nplc", ("101", 20)),
        ("set_scan_list", ("101:121",)),
        ("set_scan_list", ("119:202",)),  # a range across two cards
        ("set_scan_list", ("110:101",)),
        ("set_scan_list", ("101,101",)),
        ("set_scan_list", ("",)),
        ("set_scan_list", ("(@301)",)),
        ("set_scan_count", (0,)),
        ("set_scan_count", (1001,)),
        ("measure", (121,)),
        ("measure", (100,)),
        ("set_tc_type", ("101", "X")),
        ("set_transducer", ("101", "THERMISTOR")),
    ],
)
def test_bad_arguments_never_reach_the_instrument(call: str, args: tuple[object, ...]) -> None:
    with expected_protocol(DaqController, []) as daq:
        with pytest.raises(ArgumentError):
            getattr(daq, call)(*args)


def test_scan_polls_until_done_and_averages_the_sweeps() -> None:
    pairs = [
        (SETUP, f"(@101:102);2;{OK}"),
        (INIT, OK),
        ("TRIG:STAT?", "RUNNING;RUNNING;0"),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
        (DATA.format(4), f"2.9E+02,1.0E+02,3.0E+02,9.9E+37;{OK}"),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
    ]
    with expected_protocol(DaqController, pairs, poll_s=0.001) as daq:
        assert daq.scan() == {"101": 295.0, "102": None}
        # status shows the last scan without starting another one
        assert daq.status() == {"measuring": False, "temp_101": 295.0, "temp_102": None}


def test_housekeeping_is_every_scanned_channel() -> None:
    pairs = [
        (SETUP, f"(@101,201);1;{OK}"),
        (INIT, OK),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
        (DATA.format(2), f"2.0E+02,2.5E+02;{OK}"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        assert daq.housekeeping() == {"temp_101": 200.0, "temp_201": 250.0}


def test_an_empty_scan_list_scans_nothing() -> None:
    pairs = [(SETUP, f"(@);1;{OK}")]
    with expected_protocol(DaqController, pairs) as daq:
        assert daq.scan() == {}


def test_a_scan_that_never_ends_is_aborted() -> None:
    pairs = [
        (SETUP, f"(@101);1;{OK}"),
        (INIT, OK),
        ("TRIG:STAT?", "RUNNING;RUNNING;0"),
        ("*CLS;:ABOR;:SYST:ERR?", OK),
    ]
    with expected_protocol(DaqController, pairs, scan_timeout_s=0.0) as daq:
        with pytest.raises(ScanTimeout, match="did not end"):
            daq.scan()


def test_short_fetches_are_reply_errors() -> None:
    pairs = [
        (SETUP, f"(@101:102);1;{OK}"),
        (INIT, OK),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
        (DATA.format(2), f"2.0E+02;{OK}"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        with pytest.raises(ReplyError, match="2 channels x 1 sweeps"):
            daq.scan()


def test_garbage_replies_raise_reply_errors() -> None:
    pairs = [
        ("*CLS;:MEAS:TEMP? (@101);:SYST:ERR?", f"T=77K;{OK}"),
        ("SYST:ERR?", "no error at all"),
        ("*CLS;:ROUT:SCAN:COUN:SCAN?;:SYST:ERR?", "garbage"),
        ("TRIG:STAT?", "16"),
        ("*CLS;:SENS:TEMP:UNIT? (@101);:SYST:ERR?", f"K;{OK}"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        with pytest.raises(ReplyError, match="T=77K"):
            daq.measure(101)
        with pytest.raises(ReplyError, match="error queue entry"):
            daq.next_error()
        with pytest.raises(ReplyError):
            daq.scan_count()
        with pytest.raises(ReplyError, match="trigger state"):
            daq.measuring()  # a status register value, not the DAQ6510's trigger state
        with pytest.raises(ReplyError, match="CELS, FAHR or KELV"):
            daq.unit(101)


def test_a_scan_until_aborted_is_not_started() -> None:
    with expected_protocol(DaqController, [(SETUP, f"(@101);0;{OK}")]) as daq:
        with pytest.raises(DaqError, match="scan count is 0"):
            daq.scan()


def test_channel_lists_round_trip() -> None:
    assert parse_channels("(@101:103, 201,205:206)") == [101, 102, 103, 201, 205, 206]
    assert format_channels([101, 102, 103, 120, 201, 202, 110]) == "101:103,120,201:202,110"
    assert format_channels([119, 120, 201]) == "119:120,201"  # no run across cards
    assert parse_scan_reply("(@)") == []
    for bad in ("", "(@)", "(101)", "101:", "abc", "101;102"):
        with pytest.raises(ChannelListError):
            parse_channels(bad)


def test_the_telemetry_dictionary_knows_every_channel() -> None:
    count = len(ALL_CHANNELS)
    pairs = [
        (SETUP, f"{scpi_list(ALL_CHANNELS)};1;{OK}"),
        (INIT, OK),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
        (DATA.format(count), ",".join(["2.9315E+02"] * count) + f";{OK}"),
    ]
    with expected_protocol(DaqController, pairs) as daq:
        hk = daq.housekeeping()
    dictionary = shipped_dictionary()
    assert {p.original for p in dictionary.parameters("DAQ")} == set(hk)
    assert {dictionary.parameter(name).unit for name in dictionary.names("DAQ")} == {"K"}
    pipeline = TelemetryPipeline(dictionary, "DAQ", "LAB")
    values = split_sample(pipeline("daq", 1.0, hk)).values
    assert not pipeline.unknown
    assert values["DAQ_TEMP_101"] == pytest.approx(293.15)
