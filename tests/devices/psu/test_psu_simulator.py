"""The supply simulator's SCPI command set, driven through handle_line and a fake clock."""

from __future__ import annotations

import re

import pytest

from controlroom.devices.psu.sim.server import NO_DELAYS, CommandDelays, PsuSimulator, main


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> PsuSimulator:
    # Channel 1: 10 ohm resistor; 2: a 12 V lamp; 3: 5 ohm resistor (the defaults).
    return PsuSimulator(clock=clock, delays=NO_DELAYS)


def ask(sim: PsuSimulator, line: str) -> str:
    reply = sim.handle_line(line)
    assert reply is not None, line
    return reply


def errors(sim: PsuSimulator) -> list[str]:
    found = []
    while (entry := ask(sim, "SYST:ERR?")) != '0,"No error"':
        found.append(entry)
    return found


def measure(sim: PsuSimulator, channel: int) -> tuple[float, float, str]:
    volts, amps, mode = ask(sim, f"INST:NSEL {channel};MEAS:VOLT?;MEAS:CURR?;OUTP:MODE?").split(";")
    return float(volts), float(amps), mode


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("*IDN?", r"CONTROLROOM,SIM-PSU3,000001,1\.0"),
        ("*OPC?", "1"),
        ("*TST?", "0"),
        ("*ESR?", "0"),
        ("SYST:VERS?", r"1999\.0"),
        ("INST:NSEL?", "1"),
        ("INST?", "OUT1"),
        ("VOLT?", r"0\.000"),
        ("CURR?", r"1\.0000"),
        ("APPL?", r"0\.000,1\.0000"),
        ("OUTP?", "0"),
        ("OUTP:MODE?", "OFF"),
        ("MEAS:VOLT?", r"0\.000"),
        ("MEAS:CURR?", r"0\.0000"),
        ("MEAS:POW?", r"0\.000"),
        ("VOLT:PROT?", r"35\.200"),
        ("VOLT:PROT:TRIP?", "0"),
        ("CURR:PROT?", "0"),
        ("CURR:PROT:TRIP?", "0"),
        ("CURR:PROT:DEL?", r"0\.000"),
        ("VOLT? MAX", r"32\.000"),
        ("CURR? MIN", r"0\.0000"),
        ("SYST:ERR?", r'0,"No error"'),
    ],
)
def test_power_up_state_and_reply_formats(sim: PsuSimulator, query: str, pattern: str) -> None:
    assert re.fullmatch(pattern, ask(sim, query))
    assert errors(sim) == []


def test_headers_take_short_and_long_forms_in_any_case(sim: PsuSimulator) -> None:
    sim.handle_line(":source:voltage:level:immediate:amplitude 3.3")
    assert ask(sim, "VOLTage?;:SOUR:VOLT:LEV?;volt:lev:imm:ampl?") == "3.300;3.300;3.300"
    sim.handle_line("INSTRUMENT:NSELECT 3;:sour:curr 250 mA")
    assert ask(sim, "INST:NSEL?;CURR?") == "3;0.2500"
    sim.handle_line("INST:SEL CH2;VOLT MAX")
    assert ask(sim, "INST?;VOLT?") == "OUT2;32.000"
    assert ask(sim, "measure:scalar:voltage:dc?") == "0.000"
    assert errors(sim) == []


def test_the_error_queue_keeps_the_oldest_errors_in_order(sim: PsuSimulator) -> None:
    assert sim.handle_line("FOO 1;VOLT:BAR?") is None
    sim.handle_line("VOLT 40;VOLT;VOLT 1,2;VOLT five;OUTP maybe;INST:NSEL 4")
    assert errors(sim) == [
        '-113,"Undefined header"',
        '-113,"Undefined header"',
        '-222,"Data out of range;40 is outside 0 to 32"',
        '-109,"Missing parameter"',
        '-108,"Parameter not allowed"',
        '-104,"Data type error;five"',
        '-224,"Illegal parameter value;maybe"',
        '-222,"Data out of range;4 is outside 1 to 3"',
    ]
    assert ask(sim, "VOLT?") == "0.000"  # nothing refused changed anything


def test_the_error_queue_overflows_into_its_last_entry(sim: PsuSimulator) -> None:
    sim.handle_line(";".join(["NOPE"] * 15))
    assert ask(sim, "*ESR?") == "32"  # command errors set CME
    found = errors(sim)
    assert len(found) == 10
    assert found[-1] == '-350,"Queue overflow"'


def test_cls_empties_the_error_queue(sim: PsuSimulator) -> None:
    sim.handle_line("NOPE;VOLT 99")
    assert ask(sim, "*ESR?") == str(32 | 16)
    sim.handle_line("NOPE;*CLS")
    assert ask(sim, "SYST:ERR?;*ESR?") == '0,"No error";0'


def test_each_channel_has_its_own_rating(sim: PsuSimulator) -> None:
    sim.handle_line("INST:NSEL 3;VOLT 6;VOLT 6.5;VOLT:PROT 7")
    assert errors(sim) == [
        '-222,"Data out of range;6.5 is outside 0 to 6"',
        '-222,"Data out of range;7 is outside 0 to 6.6"',
    ]
    assert ask(sim, "VOLT?;APPL?") == "6.000;6.000,1.0000"


def test_the_output_voltage_slews_up_in_constant_voltage(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 1;APPL 10,3;OUTP ON")  # 10 V into 10 ohm: 1 A, below 3 A
    clock.advance(0.05)  # at 100 V/s the output is half way
    volts, amps, mode = measure(sim, 1)
    assert volts == pytest.approx(5.0, abs=0.01)
    assert amps == pytest.approx(0.5, abs=0.001)
    assert mode == "CV"
    clock.advance(1.0)
    volts, amps, mode = measure(sim, 1)
    assert (volts, amps, mode) == (
        pytest.approx(10.0, abs=0.005),
        pytest.approx(1.0, abs=0.001),
        "CV",
    )
    sim.handle_line("VOLT 2")
    clock.advance(0.02)  # programmed down at the same rate
    assert measure(sim, 1)[0] == pytest.approx(8.0, abs=0.01)


def test_lowering_the_current_limit_goes_from_cv_to_cc(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 1;APPL 10,3;OUTP ON")
    clock.advance(2.0)
    assert measure(sim, 1)[2] == "CV"
    sim.handle_line("CURR 0.4")  # the load wants 1 A: the voltage drops to 0.4 A x 10 ohm
    volts, amps, mode = measure(sim, 1)
    assert (volts, amps, mode) == (
        pytest.approx(4.0, abs=0.005),
        pytest.approx(0.4, abs=0.001),
        "CC",
    )
    sim.handle_line("CURR 2")
    clock.advance(1.0)
    assert measure(sim, 1) == (pytest.approx(10.0, abs=0.005), pytest.approx(1.0, abs=0.001), "CV")


def test_a_load_that_drops_its_resistance_pushes_the_output_into_cc(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 3;APPL 5,1.5;OUTP ON")  # 5 V into 5 ohm: 1 A
    clock.advance(1.0)
    assert measure(sim, 3) == (pytest.approx(5.0, abs=0.005), pytest.approx(1.0, abs=0.001), "CV")
    sim.set_load(3, "2")  # would draw 2.5 A
    assert measure(sim, 3) == (pytest.approx(3.0, abs=0.005), pytest.approx(1.5, abs=0.001), "CC")
    sim.set_load(3, "open")
    clock.advance(1.0)
    assert measure(sim, 3) == (pytest.approx(5.0, abs=0.005), pytest.approx(0.0, abs=0.001), "CV")


def test_a_cold_lamp_starts_in_cc_and_settles_in_cv(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 2;APPL 12,1.5;OUTP ON")  # 12 V, 12 W lamp: 2 ohm when cold
    clock.advance(0.2)
    volts, amps, mode = measure(sim, 2)
    assert mode == "CC" and amps == pytest.approx(1.5, abs=0.001) and volts < 6.0
    clock.advance(5.0)
    volts, amps, mode = measure(sim, 2)
    assert mode == "CV" and volts == pytest.approx(12.0, abs=0.005)
    assert amps == pytest.approx(1.0, abs=0.01)  # the rated current of the hot filament


def test_ovp_trips_the_output_off_and_latches_until_cleared(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 1;VOLT:PROT 8;APPL 10,3;OUTP ON")
    clock.advance(0.05)  # the output slews past 8 V after 0.08 s
    assert ask(sim, "OUTP?;VOLT:PROT:TRIP?") == "1;0"
    clock.advance(0.05)
    assert ask(sim, "OUTP?;VOLT:PROT:TRIP?;OUTP:MODE?;MEAS:VOLT?") == "0;1;OFF;0.000"
    clock.advance(10.0)
    assert ask(sim, "VOLT:PROT:TRIP?") == "1"  # latched
    sim.handle_line("OUTP ON")
    assert errors(sim) == ['-221,"Settings conflict;OVP tripped on channel 1, clear it first"']
    sim.handle_line("VOLT:PROT:CLE")
    assert ask(sim, "VOLT:PROT:TRIP?;OUTP?") == "0;0"  # switching on again is deliberate
    sim.handle_line("VOLT 5;OUTP ON")
    clock.advance(1.0)
    assert ask(sim, "OUTP?;VOLT:PROT:TRIP?") == "1;0"
    # A level set below the output voltage trips it at once.
    assert ask(sim, "VOLT:PROT 4.5;OUTP?;VOLT:PROT:TRIP?") == "0;1"


def test_armed_ocp_trips_when_the_current_limit_is_reached(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 3;APPL 5,2;CURR:PROT ON;OUTP ON")
    clock.advance(1.0)
    assert ask(sim, "OUTP?;CURR:PROT:TRIP?") == "1;0"  # 1 A, below the limit
    sim.set_load(3, "1")  # a short-ish: would draw 5 A
    clock.advance(0.01)
    assert ask(sim, "OUTP?;CURR:PROT:TRIP?;MEAS:CURR?") == "0;1;0.0000"
    sim.handle_line("OUTP ON")
    assert errors(sim) == ['-221,"Settings conflict;OCP tripped on channel 3, clear it first"']
    sim.handle_line("CURR:PROT:CLE;CURR:PROT OFF;OUTP ON")
    clock.advance(1.0)
    assert measure(sim, 3)[2] == "CC"  # disarmed: it stays in current limit
    assert ask(sim, "OUTP?;CURR:PROT:TRIP?") == "1;0"


def test_the_ocp_delay_rides_through_a_lamp_inrush(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 2;APPL 12,1.5;CURR:PROT ON;CURR:PROT:DEL 3;OUTP ON")
    clock.advance(5.0)
    assert ask(sim, "OUTP?;CURR:PROT:TRIP?;OUTP:MODE?") == "1;0;CV"
    sim.handle_line("OUTP OFF;CURR:PROT:DEL 0.1")
    clock.advance(5.0)  # the filament cools down
    sim.handle_line("OUTP ON")
    clock.advance(0.5)
    assert ask(sim, "OUTP?;CURR:PROT:TRIP?") == "0;1"


def test_rst_restores_power_up_settings_but_keeps_the_loads(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 2;APPL 5,0.5;VOLT:PROT 4;CURR:PROT ON;OUTP ON")
    clock.advance(1.0)
    sim.set_load(3, "7.5")
    sim.handle_line("*RST")
    assert ask(
        sim, "INST:NSEL?;INST:NSEL 2;VOLT?;CURR?;OUTP?;VOLT:PROT?;VOLT:PROT:TRIP?;CURR:PROT?"
    ) == ("1;0.000;1.0000;0;35.200;0;0")
    assert sim.channel(3).load.describe() == "7.5"


def test_channels_are_independent(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 1;APPL 3,1;OUTP ON;INST:NSEL 3;APPL 2,1;OUTP ON")
    clock.advance(1.0)
    assert measure(sim, 1)[:2] == (pytest.approx(3.0, abs=0.005), pytest.approx(0.3, abs=0.001))
    assert measure(sim, 3)[:2] == (pytest.approx(2.0, abs=0.005), pytest.approx(0.4, abs=0.001))
    assert measure(sim, 2) == (0.0, 0.0, "OFF")


def test_command_delays_follow_the_kind_of_each_unit(clock: FakeClock) -> None:
    slept: list[float] = []
    delays = CommandDelays(setting=0.003, query=0.001, measure=0.010)
    sim = PsuSimulator(clock=clock, delays=delays, sleep=slept.append)
    sim.handle_line("INST:NSEL 1;VOLT 1;MEAS:VOLT?;MEAS:CURR?;VOLT?")
    sim.handle_line("NOPE")  # an unknown header is refused at once
    assert slept == [pytest.approx(0.003 * 2 + 0.010 * 2 + 0.001)]


def test_speed_makes_simulated_time_run_faster(clock: FakeClock) -> None:
    fast = PsuSimulator(clock=clock, delays=NO_DELAYS, speed=10.0)
    fast.handle_line("INST:NSEL 1;APPL 10,3;OUTP ON")
    clock.advance(0.005)  # 0.05 simulated seconds: half way at 100 V/s
    assert measure(fast, 1)[0] == pytest.approx(5.0, abs=0.01)


def test_bad_construction_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        PsuSimulator(speed=0)
    with pytest.raises(ValueError, match="no channel"):
        PsuSimulator(loads={4: PsuSimulator().channel(1).load})
    with pytest.raises(ValueError, match="slew"):
        PsuSimulator(slew_v_per_s=0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--speed", "0"],
        ["--slew", "-1"],
        ["--load", "1"],
        ["--load", "1=lamp:2"],
        ["--load", "x=5"],
    ],
)
def test_main_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
