"""Command sequences as the DAQ6510 reference manual and Keithley's examples give them,
replayed line by line against the simulator over its SCPI socket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from controlroom.devices.daq.sim.server import DaqSimulator
from controlroom.testing.simulators import LineClient
from controlroom.testing.waiting import wait_until

NO_ERROR = '0,"No error;0;0 0"'
EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC
Served = tuple[DaqSimulator, LineClient]
"""The simulator, and a client of its raw SCPI socket: one line out, at most one line back."""
ENTRY = re.compile(r'(-?\d+),"([^;"]*);(\d);(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3})"')


@pytest.fixture
def daq() -> Iterator[Served]:
    # Simulated time runs 50x faster: a 1 s scan interval takes 20 ms.
    simulator = DaqSimulator(port=0, speed=50.0, epoch=EPOCH)
    simulator.start()
    link = LineClient(simulator.port, host=simulator.host, timeout=10.0)
    try:
        yield simulator, link
    finally:
        link.close()
        simulator.stop()


def test_scan_temperature_with_thermocouples(daq: Served) -> None:
    """The manual's thermocouple scan, with 3 scans 1 s apart instead of 1440 a minute apart."""
    simulator, link = daq
    for line in [
        "*RST",
        ":FUNCtion 'TEMPerature',(@101:110)",
        ":SENSe:TEMPerature:TRANsducer TCouple,(@101:110)",
        ":SENSe:TEMPerature:TCouple:TYPE K,(@101:110)",
        ":SENSe:TEMPerature:TCouple:RJUNction:RSELect INTernal,(@101:110)",
        ":SENSe:TEMPerature:ODETector ON,(@101:110)",
        ":ROUTe:SCAN:CREate (@101:110)",
        ":ROUTe:SCAN:COUNt:SCAN 3",
        ":ROUTe:SCAN:INTerval 1.0",
        ':ROUTe:SCAN:EXPORT "/usb1/scan24hr.csv", SCAN, ALL',
        ":ROUTe:SCAN:RESTart ON",
        "*WAI",
        ":INIT",
    ]:
        link.send(line)
    assert wait_until(lambda: link.ask("TRIG:STAT?").startswith("IDLE;"), 10.0, every_s=0.01)
    assert link.ask("SYST:ERR:COUN?") == "0"
    assert link.ask('TRAC:ACT? "defbuffer1"') == "30"
    fields = link.ask('TRAC:DATA? 1, 30, "defbuffer1", READ, REL, CHAN, UNIT').split(",")
    rows = [fields[i : i + 4] for i in range(0, len(fields), 4)]
    assert len(rows) == 30
    assert [int(channel) for _, _, channel, _ in rows] == list(range(101, 111)) * 3
    assert {unit for *_, unit in rows} == {"Celsius"}  # the factory unit after *RST
    relative = [float(rel) for _, rel, _, _ in rows]
    assert relative[0] == 0.0 and relative == sorted(relative)
    assert relative[10] - relative[0] == pytest.approx(1.0)  # scans start 1 s apart
    assert relative[9] - relative[0] == pytest.approx(9 * (0.004 + 1 / 50))  # 1 NPLC each
    bench = simulator.temperature("optical_bench") - 273.15
    assert float(rows[-10][0]) == pytest.approx(bench, abs=0.5)  # 101 is on the bench
    assert link.ask("ROUT:SCAN:STAT?") == "IDLE;3;10"
    query = 'TRAC:DATA? 11, 11, "defbuffer1", DATE, TIME, SEC, FRAC'
    date, clock_time, seconds, fraction = link.ask(query).split(",")
    moment = int(seconds) + float(fraction) - EPOCH  # the instrument's clock started at EPOCH
    assert date == "11/14/2023" and clock_time == f"22:13:{20 + int(moment):02d}{fraction[1:]}"


@pytest.mark.parametrize(
    ("channels", "answer", "steps"),
    [
        ("(@101:110)", "(@101:110)", 10),
        ("(@101,103,105:107)", "(@101,103,105:107)", 5),
        ("(@101:110,201)", "(@101:110,201)", 11),
        ("(@ 101, 102 , 103 )", "(@101:103)", 3),
    ],
)
def test_channel_lists_in_the_manuals_form(
    daq: Served, channels: str, answer: str, steps: int
) -> None:
    _, link = daq
    link.send(f'*RST;:SENS:FUNC "TEMP", {channels};:ROUT:SCAN:CRE {channels}')
    assert link.ask("ROUT:SCAN?") == answer
    assert link.ask("ROUT:SCAN:COUN:STEP?") == str(steps)
    assert link.ask(f"SENS:FUNC? {channels}") == ",".join(["TEMP"] * steps)
    assert link.ask(f"SENS:TEMP:UNIT? {channels}") == ",".join(["CELS"] * steps)
    assert link.ask("SYST:ERR?") == NO_ERROR


def test_a_refused_command_queues_its_error(daq: Served) -> None:
    _, link = daq
    link.send("SENS:TEMP:NPLC 20, (@101)")  # beyond 12 NPLC on a 50 Hz line
    link.send("UNIT:TEMP C,(@101)")  # a 34970A header the DAQ6510 does not have
    assert link.ask("SENS:TEMP:UNIT? (@105:106);:SENS:TEMP:NPLC? (@101)") == "KELV,KELV;1"
    assert link.ask("SYST:ERR:COUN?") == "2"
    entries = [ENTRY.fullmatch(link.ask("SYST:ERR:NEXT?")) for _ in range(2)]
    assert [(m[1], m[3]) for m in entries if m] == [("-222", "1"), ("-113", "1")]
    assert entries[0] is not None and entries[0][2].startswith("Data out of range")
    assert entries[0] is not None and entries[0][4].startswith("2023/11/14 22:13:")
    assert link.ask("SYST:ERR?") == NO_ERROR
    # A refused query sends nothing back: the next reply is the next query's.
    link.send("MEAS:TEMP? (@220)")  # 220 does not measure temperature
    assert link.ask("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL DAQ6510,")
    assert link.ask("SYST:ERR?").startswith('-221,"Settings conflict')


def test_a_scan_into_a_buffer_of_its_own(daq: Served) -> None:
    """A client's buffer, read back with channel, timestamp and reading."""
    simulator, link = daq
    for line in [
        "*RST",
        'TRAC:MAKE "test1", 1000',
        'SENS:FUNC "TEMP", (@201:202,205)',
        "SENS:TEMP:TRAN FRTD, (@201,205)",
        "SENS:TEMP:RTD:FOUR PT100, (@201,205)",
        "SENS:TEMP:TRAN RTD, (@202)",
        "SENS:TEMP:RTD:TWO PT100, (@202)",
        "SENS:TEMP:UNIT KELV, (@201:202,205)",
        'ROUT:SCAN:BUFF "test1"',
        "ROUT:SCAN:CRE (@201:202,205)",
        "ROUT:SCAN:STAR:STIM NONE",
        "ROUT:SCAN:COUN:SCAN 1",
        "INIT:IMM",
        "*WAI",
    ]:
        link.send(line)
    fields = link.ask('TRAC:DATA? 1, 3, "test1", CHAN, TST, READ').split(",")
    assert fields[0::3] == ["201", "202", "205"]
    assert all(re.fullmatch(r"11/14/2023 22:13:\d\d\.\d{9}", stamp) for stamp in fields[1::3])
    bench, edge, spare = (float(value) for value in fields[2::3])
    assert bench == pytest.approx(simulator.temperature("optical_bench"), abs=0.05)
    assert edge == pytest.approx(simulator.temperature("bench_edge") + 0.5, abs=0.05)  # leads
    assert spare == 9.9e37  # nothing is wired to 205: an open RTD overflows
    assert link.ask('TRAC:ACT? "test1";:TRAC:ACT? "defbuffer1"') == "3;0"
    assert link.ask('FETC? "test1", READ, CHAN, FORM') == f"{fields[-1]},205,Overflow"
    assert link.ask('ROUT:SCAN:BUFF?;:TRAC:POIN? "test1"') == "test1;1000"
    link.send('TRAC:CLE "test1"')
    assert link.ask('TRAC:ACT? "test1";:SYST:ERR?') == f"0;{NO_ERROR}"


def test_single_readings_with_a_closed_channel(daq: Served) -> None:
    simulator, link = daq
    link.send("ROUT:CLOS (@116)")
    assert link.ask("ROUT:CLOS?;:ROUT:STAT? (@115:116)") == "(@116);0,1"
    rack = simulator.temperature("rack")
    assert float(link.ask("READ?")) == pytest.approx(rack, abs=0.5)
    reading, channel, unit = link.ask('MEAS:TEMP? "defbuffer2", READ, CHAN, UNIT').split(",")
    assert float(reading) == pytest.approx(rack, abs=0.5)
    assert (channel, unit) == ("116", "Kelvin")
    assert link.ask('TRAC:ACT? "defbuffer1";:TRAC:ACT? "defbuffer2"') == "1;1"
    link.send("ROUT:OPEN:ALL")
    assert link.ask("ROUT:CLOS?") == "(@)"
    assert link.ask("SYST:ERR?") == NO_ERROR


def test_an_endless_scan_fills_the_buffer_until_aborted(
    daq: Served,
) -> None:
    _, link = daq
    link.send('ROUT:SCAN:CRE (@101:104);:ROUT:SCAN:COUN:SCAN 0;:TRAC:POIN 20, "defbuffer1"')
    link.send("STAT:OPER:MAP 0, 4917, 4918;:INIT")
    assert link.ask("STAT:OPER:COND?;:TRIG:STAT?") == "1;RUNNING;RUNNING;0"
    assert wait_until(lambda: int(link.ask("TRAC:ACT?")) == 20, 10.0, every_s=0.01)
    assert link.ask("ROUT:SCAN:STAT?").startswith("RUNNING;")
    link.send("ABOR")
    assert link.ask("STAT:OPER:COND?;:TRIG:STAT?") == "0;ABORTED;ABORTED;0"
    assert link.ask("*CLS;:STAT:OPER?") == "0"  # the latched event cleared with the rest
    # The buffer kept the newest 20: its oldest reading is no longer the first channel's.
    channels = [int(c) for c in link.ask('TRAC:DATA? 1, 20, "defbuffer1", CHAN').split(",")]
    assert len(channels) == 20 and set(channels) == {101, 102, 103, 104}
    assert link.ask("SYST:ERR?") == NO_ERROR
