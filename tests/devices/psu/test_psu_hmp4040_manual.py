"""Command sequences as the HMP series manual and PyMeasure's HMP4040 driver send them, over TCP.

Each test talks to the simulator on its raw SCPI socket with the literal lines
a program written for a real HMP4040 sends, one command per line. Simulated
time is a fake clock moved by the test; before moving it, ``*OPC?`` makes sure
the supply has taken every line sent so far (as a script would before waiting).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlroom.devices.psu.sim.server import NO_DELAYS, PsuSimulator
from controlroom.testing.simulators import LineClient

pytestmark = pytest.mark.integration

NO_ERROR = '0,"No error"'


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Hmp(LineClient):
    """A client of the supply's SCPI socket: ``write`` sends lines, ``ask`` also reads one."""

    def __init__(self, port: int, clock: FakeClock) -> None:
        super().__init__(port)
        self._clock = clock

    def write(self, *lines: str) -> None:
        for line in lines:
            self.send(line)

    def floats(self, line: str) -> list[float]:
        return [float(part) for part in self.ask(line).split(",")]

    def wait(self, seconds: float) -> None:
        assert self.ask("*OPC?") == "1"
        self._clock.now += seconds

    def errors(self) -> list[str]:
        found = []
        while (entry := self.ask("SYST:ERR?")) != NO_ERROR:
            found.append(entry)
        return found


@pytest.fixture
def hmp() -> Iterator[Hmp]:
    # Loads as shipped: 10 ohm, a 12 V lamp, 5 ohm, 3 ohm.
    clock = FakeClock()
    with PsuSimulator(port=0, clock=clock, delays=NO_DELAYS) as sim, Hmp(sim.port, clock) as hmp:
        yield hmp


def test_basic_output_setup_from_the_manual(hmp: Hmp) -> None:
    hmp.write("*RST", "INST:NSEL 1", "VOLT 5.0", "CURR 1.0", "OUTP ON")
    hmp.wait(1.0)
    assert float(hmp.ask("MEAS:VOLT?")) == pytest.approx(5.0, abs=0.005)
    assert float(hmp.ask("MEAS:CURR?")) == pytest.approx(0.5, abs=0.001)  # 10 ohm
    assert hmp.errors() == []


def test_outp_sel_chooses_channels_and_outp_gen_switches_them_together(hmp: Hmp) -> None:
    hmp.write("INST OUT1", "APPL 3,1", "OUTP:SEL ON")
    hmp.write("INST OUT3", "APPL 2,1", "OUTP:SEL ON")
    hmp.wait(1.0)
    assert hmp.ask("OUTP:GEN?") == "0"
    assert hmp.ask("MEAS:VOLT?") == "0.000"  # active, but the master output is off
    hmp.write("OUTP:GEN ON")
    hmp.wait(1.0)
    assert float(hmp.ask("MEAS:CURR?")) == pytest.approx(0.4, abs=0.001)  # channel 3: 5 ohm
    hmp.write("INST OUT1")
    assert float(hmp.ask("MEAS:CURR?")) == pytest.approx(0.3, abs=0.001)  # channel 1: 10 ohm
    hmp.write("INST OUT2")
    assert (hmp.ask("OUTP:SEL?"), hmp.ask("OUTP?")) == ("0", "0")  # never chosen
    hmp.write("INST OUT3", "OUTP:SEL OFF")
    hmp.wait(0.1)
    assert (hmp.ask("OUTP?"), hmp.ask("MEAS:VOLT?"), hmp.ask("OUTP:GEN?")) == ("0", "0.000", "1")
    hmp.write("OUTP:GEN OFF", "INST OUT1")
    hmp.wait(0.1)
    assert (hmp.ask("OUTP:SEL?"), hmp.ask("OUTP?"), hmp.ask("MEAS:VOLT?")) == ("1", "0", "0.000")
    hmp.write("OUTP:GEN ON")
    hmp.wait(1.0)
    assert float(hmp.ask("MEAS:VOLT?")) == pytest.approx(3.0, abs=0.005)  # back, still chosen
    assert hmp.errors() == []


def test_apply_sets_and_answers_both_values(hmp: Hmp) -> None:
    hmp.write("INST OUT2", "APPL 12.5,0.75")
    assert hmp.ask("APPL?") == "12.500,0.7500"
    assert (hmp.ask("VOLT?"), hmp.ask("CURR?")) == ("12.500", "0.7500")
    hmp.write("INST:NSEL 4", "APPL MAX,MIN")
    assert hmp.floats("APPL?") == [32.05, 0.0]
    hmp.write("INST OUT2")
    assert hmp.ask("APPL?") == "12.500,0.7500"  # each channel keeps its own
    assert hmp.errors() == []


def test_volt_step_and_volt_up(hmp: Hmp) -> None:
    hmp.write("INST:NSEL 1", "VOLT 0", "VOLT:STEP 0.5", "VOLT UP", "VOLT UP", "VOLT UP")
    assert (hmp.ask("VOLT?"), hmp.ask("VOLT:STEP?")) == ("1.500", "0.500")
    hmp.write("VOLT DOWN")
    assert hmp.ask("VOLT?") == "1.000"
    hmp.write("CURR 1", "CURR:STEP 0.25", "CURR UP", "CURR UP")
    assert hmp.ask("CURR?") == "1.5000"
    hmp.write("CURR DOWN")
    assert hmp.ask("CURR?") == "1.2500"
    assert hmp.errors() == []


def test_fuse_delay_link_and_trip(hmp: Hmp) -> None:
    hmp.write("INST OUT2", "APPL 1,1", "OUTP:SEL ON")  # the cold lamp: 0.5 A, no limit
    hmp.write("INST OUT1", "FUSE:LINK 2", "FUSE:DEL 100", "FUSE ON")
    hmp.write("APPL 5,0.3", "OUTP ON")  # 10 ohm wants 0.5 A: held at 0.3 A
    hmp.wait(0.08)  # 3 V reached after 30 ms: in current limit for 50 ms of the 100 ms delay
    assert (hmp.ask("FUSE:TRIP?"), hmp.ask("OUTP?")) == ("0", "1")
    hmp.wait(0.1)
    assert (hmp.ask("FUSE:TRIP?"), hmp.ask("OUTP?"), hmp.ask("MEAS:CURR?")) == ("1", "0", "0.0000")
    assert (hmp.ask("FUSE?"), hmp.ask("FUSE:DEL?"), hmp.ask("FUSE:LINK? 2")) == ("1", "100", "1")
    hmp.write("INST OUT2")  # linked: switched off with channel 1
    assert (hmp.ask("OUTP?"), hmp.ask("FUSE:TRIP?"), hmp.ask("OUTP:GEN?")) == ("0", "1", "1")
    hmp.write("INST OUT1", "CURR 1", "OUTP ON")  # switching the channel re-arms its fuse
    hmp.wait(1.0)
    assert (hmp.ask("FUSE:TRIP?"), hmp.ask("OUTP?")) == ("0", "1")
    assert hmp.errors() == []


def test_ovp_trips_and_clears(hmp: Hmp) -> None:
    hmp.write("INST OUT3", "VOLT:PROT 8", "APPL 10,3", "OUTP ON")
    hmp.wait(1.0)
    assert (hmp.ask("VOLT:PROT:TRIP?"), hmp.ask("OUTP?")) == ("1", "0")
    hmp.write("OUTP ON")
    assert hmp.errors() == ['-221,"Settings conflict;OVP tripped on channel 3, clear it first"']
    hmp.write("VOLT:PROT:CLE", "VOLT:PROT 12", "OUTP ON")
    hmp.wait(1.0)
    assert float(hmp.ask("MEAS:VOLT?")) == pytest.approx(10.0, abs=0.005)
    assert hmp.errors() == []


def test_errors_are_queued_with_their_scpi_numbers(hmp: Hmp) -> None:
    hmp.write("OUTP:MODE?", "VOLT 33", "INST OUT5", "CURR lots", "FUSE:DEL 300", "APPL 5")
    assert hmp.errors() == [
        '-113,"Undefined header"',
        '-222,"Data out of range;33 is outside 0 to 32.05"',
        '-224,"Illegal parameter value;no channel 5"',
        '-104,"Data type error;lots"',
        '-222,"Data out of range;300 is outside 0 to 250"',
        '-109,"Missing parameter"',
    ]
    hmp.write("BOGUS", "*CLS")
    assert hmp.ask("SYST:ERR?") == NO_ERROR
    assert hmp.ask("SYST:VERS?") == "1999.0"


def test_a_session_as_pymeasures_hmp4040_driver_sends_it(hmp: Hmp) -> None:
    assert hmp.ask("*IDN?").startswith("ROHDE&SCHWARZ,HMP4040,")
    hmp.write("*RST", "*CLS", "SYST:REM", "SYST:BEEP")
    assert hmp.ask("SYST:VERS?") == "1999.0"
    hmp.write("INST:NSEL 1")
    assert hmp.ask("INST:NSEL?") == "1"
    hmp.write("VOLT MIN")
    assert float(hmp.ask("VOLT?")) == float(hmp.ask("VOLT? MIN")) == 0.0
    hmp.write("VOLT MAX")
    assert float(hmp.ask("VOLT?")) == float(hmp.ask("VOLT? MAX")) == 32.05
    hmp.write("VOLT 0.0", "VOLT UP")
    assert float(hmp.ask("VOLT?")) == float(hmp.ask("VOLT:STEP?")) == 1.0
    hmp.write("VOLT DOWN")
    assert float(hmp.ask("VOLT?")) == 0.0
    hmp.write("CURR MAX")
    assert float(hmp.ask("CURR?")) == float(hmp.ask("CURR? MAX")) == 10.01
    hmp.write("CURR 0.5", "CURR:STEP 0.1", "CURR UP")
    assert float(hmp.ask("CURR?")) == 0.6 and float(hmp.ask("CURR:STEP?")) == 0.1
    hmp.write("CURR DOWN", "APPL 5.0, 0.8")
    assert hmp.floats("APPL?") == [5.0, 0.8]
    # set_channel_state(2, True): remember the selection, activate 2, select back.
    assert hmp.ask("INST:NSEL?") == "1"
    hmp.write("INST:NSEL 2", "OUTPUT:SEL 1", "INST:NSEL 1")
    assert hmp.ask("INST:NSEL?") == "1"
    hmp.write("OUTPUT:SEL 1", "OUTP:GEN 1")
    assert (float(hmp.ask("OUTP:GEN?")), float(hmp.ask("OUTP:SEL?"))) == (1.0, 1.0)
    hmp.wait(1.0)
    assert float(hmp.ask("MEAS:VOLT?")) == pytest.approx(5.0, abs=0.005)
    assert float(hmp.ask("MEAS:CURR?")) == pytest.approx(0.5, abs=0.001)
    hmp.write("INST:NSEL 2")
    assert float(hmp.ask("MEAS:CURR?")) == pytest.approx(0.0, abs=0.001)  # 0 V on the lamp
    hmp.write("OUTP:GEN 0", "SYST:LOC")
    assert float(hmp.ask("OUTP:GEN?")) == 0.0
    assert hmp.ask("SYST:ERR?") == NO_ERROR
