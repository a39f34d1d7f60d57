"""The HMP4040 simulator's SCPI command set, driven through handle_line and a fake clock."""

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
    # Channel 1: 10 ohm; 2: a 12 V lamp; 3: 5 ohm; 4: 3 ohm (the defaults).
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


MODES = {"0": "OFF", "1": "CC", "2": "CV"}


def measure(sim: PsuSimulator, channel: int) -> tuple[float, float, str]:
    line = f"INST:NSEL {channel};MEAS:VOLT?;MEAS:CURR?;STAT:QUES:INST:ISUM{channel}:COND?"
    volts, amps, condition = ask(sim, line).split(";")
    return float(volts), float(amps), MODES[str(int(condition) & 3)]


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("*IDN?", r"ROHDE&SCHWARZ,HMP4040,000001,HW\d+/SW[\d.]+"),
        ("*OPC?", "1"),
        ("*TST?", "0"),
        ("*ESR?", "0"),
        ("*STB?", "0"),
        ("SYST:VERS?", r"1999\.0"),
        ("INST:NSEL?", "1"),
        ("INST?", "OUTP1"),
        ("VOLT?", r"0\.000"),
        ("CURR?", r"1\.0000"),
        ("VOLT:STEP?", r"1\.000"),
        ("CURR:STEP?", r"0\.1000"),
        ("APPL?", r"0\.000,1\.0000"),
        ("OUTP?", "0"),
        ("OUTP:SEL?", "0"),
        ("OUTP:GEN?", "0"),
        ("STAT:QUES:INST:ISUM1:COND?", "0"),
        ("MEAS:VOLT?", r"0\.000"),
        ("MEAS:CURR?", r"0\.0000"),
        ("VOLT:PROT?", r"33\.000"),
        ("VOLT:PROT:TRIP?", "0"),
        ("FUSE?", "0"),
        ("FUSE:TRIP?", "0"),
        ("FUSE:DEL?", "0"),
        ("VOLT? MAX", r"32\.050"),
        ("CURR? MAX", r"10\.0100"),
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
    sim.handle_line("INST:SEL OUTP2;VOLT MAX")
    assert ask(sim, "INST?;VOLT?") == "OUTP2;32.050"
    sim.handle_line("instrument output4;SOUR:VOLT:LEV:AMPL:STEP:INCR 0.25")
    assert ask(sim, "INST:NSEL?;VOLT:STEP?") == "4;0.250"
    assert ask(sim, "measure:scalar:voltage:dc?;fuse:tripped?;FUSE:TRIPED?") == "0.000;0;0"
    assert ask(sim, "STATUS:QUESTIONABLE:INSTRUMENT:ISUMMARY2:CONDITION?") == "0"
    sim.handle_line("output:general:state on;OUTPUT:SELECT ON;OUTPut:STATe OFF")
    assert errors(sim) == []


def test_the_error_queue_keeps_the_oldest_errors_in_order(sim: PsuSimulator) -> None:
    assert sim.handle_line("FOO 1;VOLT:BAR?;STAT:QUES:INST:ISUM5:COND?") is None
    sim.handle_line("VOLT 40;VOLT;VOLT 1,2;VOLT five;OUTP maybe;INST:NSEL 5;FUSE:DEL 300")
    assert errors(sim) == [
        '-113,"Undefined header"',
        '-113,"Undefined header"',
        '-113,"Undefined header"',
        '-222,"Data out of range;40 is outside 0 to 32.05"',
        '-109,"Missing parameter"',
        '-108,"Parameter not allowed"',
        '-104,"Data type error;five"',
        '-224,"Illegal parameter value;maybe"',
        '-222,"Data out of range;5 is outside 1 to 4"',
        '-222,"Data out of range;300 is outside 0 to 250"',  # milliseconds
    ]
    assert ask(sim, "VOLT?;FUSE:DEL?") == "0.000;0"  # nothing refused changed anything


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


def test_steps_move_the_settings_and_stop_at_the_range(sim: PsuSimulator) -> None:
    sim.handle_line("VOLT 31;VOLT:STEP 0.5;VOLT UP;VOLT UP")
    assert ask(sim, "VOLT?") == "32.000"
    sim.handle_line("VOLT UP")  # 32.5 is beyond 32.050: refused, unchanged
    assert ask(sim, "VOLT?;VOLT:STEP? DEF") == "32.000;1.000"
    sim.handle_line("CURR 0.05;CURR DOWN")  # the default step is 0.1 A
    sim.handle_line("CURR:STEP 0.25;CURR UP;CURR UP")
    assert ask(sim, "CURR?;CURR:STEP?") == "0.5500;0.2500"
    assert errors(sim) == [
        '-222,"Data out of range;a step to 32.5 is outside 0 to 32.05"',
        '-222,"Data out of range;a step to -0.05 is outside 0 to 10.01"',
    ]


def test_settings_keep_the_programming_resolution(sim: PsuSimulator) -> None:
    sim.handle_line("APPL 5.12345, 0.12345")  # 1 mV; 0.2 mA below 1 A
    assert ask(sim, "APPL?") == "5.123,0.1234"
    sim.handle_line("CURR 2.3456")  # 1 mA from 1 A up
    assert ask(sim, "CURR?") == "2.3460"


def test_apply_takes_both_values_or_neither(sim: PsuSimulator) -> None:
    sim.handle_line("APPL 5;APPL 5,11;APPL MAX,MIN")
    assert errors(sim) == [
        '-109,"Missing parameter"',
        '-222,"Data out of range;11 is outside 0 to 10.01"',
    ]
    assert ask(sim, "APPL?") == "32.050,0.0000"


def test_outputs_switch_in_two_stages(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 1;APPL 5,1;OUTP:SEL ON;INST:NSEL 3;APPL 2,1;OUTP:SEL ON")
    clock.advance(1.0)
    assert measure(sim, 1) == (0.0, 0.0, "OFF")  # active, but the master is off
    sim.handle_line("OUTP:GEN ON")
    clock.advance(1.0)
    assert measure(sim, 1)[:2] == (pytest.approx(5.0, abs=0.005), pytest.approx(0.5, abs=0.001))
    assert measure(sim, 3)[:2] == (pytest.approx(2.0, abs=0.005), pytest.approx(0.4, abs=0.001))
    assert measure(sim, 2) == (0.0, 0.0, "OFF")  # never selected for output
    sim.handle_line("INST:NSEL 3;OUTP:SEL OFF")
    assert ask(sim, "OUTP?;OUTP:GEN?;INST:NSEL 1;OUTP?") == "0;1;1"
    sim.handle_line("OUTP:GEN OFF")
    assert ask(sim, "OUTP?;OUTP:SEL?") == "0;1"  # channel 1 stays active for the next OUTP:GEN ON


def test_outp_on_also_switches_the_master_on(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 2;OUTP:SEL ON;INST:NSEL 4;APPL 3,1;OUTP ON")
    assert ask(sim, "OUTP:GEN?;OUTP?;INST:NSEL 2;OUTP?") == "1;1;1"  # channel 2 came on too
    sim.handle_line("INST:NSEL 4;OUTP OFF")
    assert ask(sim, "OUTP:GEN?;OUTP?;OUTP:SEL?") == "1;0;0"


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
    assert measure(sim, 1) == (pytest.approx(10.0, abs=0.005), pytest.approx(1.0, abs=0.001), "CV")
    sim.handle_line("VOLT 2")
    clock.advance(0.02)  # programmed down at the same rate
    assert measure(sim, 1)[0] == pytest.approx(8.0, abs=0.01)


def test_lowering_the_current_limit_goes_from_cv_to_cc(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 1;APPL 10,3;OUTP ON")
    clock.advance(2.0)
    assert measure(sim, 1)[2] == "CV"
    sim.handle_line("CURR 0.4")  # the load wants 1 A: the voltage drops to 0.4 A x 10 ohm
    assert measure(sim, 1) == (pytest.approx(4.0, abs=0.005), pytest.approx(0.4, abs=0.001), "CC")
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


def test_a_channel_delivers_160_watts_at_most(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.handle_line("INST:NSEL 4;APPL 32,10;OUTP ON")  # 3 ohm: 341 W at 32 V
    clock.advance(1.0)
    volts, amps, mode = measure(sim, 4)
    assert mode == "CC" and amps < 10.0  # the power, not the current setting, holds it
    assert volts * amps == pytest.approx(160.0, abs=0.5)
    assert volts == pytest.approx((160.0 * 3) ** 0.5, abs=0.01)


def test_four_channels_share_384_watts(sim: PsuSimulator, clock: FakeClock) -> None:
    for channel in (1, 3, 4):  # 102 W, 160 W and 160 W wanted: 422 W
        sim.handle_line(f"INST:NSEL {channel};APPL 32,10;OUTP:SEL ON")
    sim.handle_line("OUTP:GEN ON")
    clock.advance(2.0)
    readings = {ch: measure(sim, ch) for ch in (1, 3, 4)}
    assert sum(v * a for v, a, _ in readings.values()) == pytest.approx(384.0, abs=1.0)
    assert {mode for _, _, mode in readings.values()} == {"CC"}
    sim.handle_line("INST:NSEL 3;OUTP:SEL OFF")  # 262 W left: everyone gets what it wants
    clock.advance(1.0)
    assert measure(sim, 1) == (pytest.approx(32.0, abs=0.005), pytest.approx(3.2, abs=0.001), "CV")


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
    assert ask(sim, "OUTP?;OUTP:SEL?;VOLT:PROT:TRIP?;MEAS:VOLT?") == "0;0;1;0.000"
    assert ask(sim, "STAT:QUES:INST:ISUM1:COND?") == str(1 << 9)
    clock.advance(10.0)
    assert ask(sim, "VOLT:PROT:TRIP?") == "1"  # latched
    sim.handle_line("OUTP ON;OUTP:SEL ON")
    assert errors(sim) == [
        '-221,"Settings conflict;OVP tripped on channel 1, clear it first"',
        '-221,"Settings conflict;OVP tripped on channel 1, clear it first"',
    ]
    sim.handle_line("VOLT:PROT:CLE")
    assert ask(sim, "VOLT:PROT:TRIP?;OUTP?") == "0;0"  # switching on again is deliberate
    sim.handle_line("VOLT 5;OUTP ON")
    clock.advance(1.0)
    assert ask(sim, "OUTP?;VOLT:PROT:TRIP?") == "1;0"
    # A level set below the output voltage trips it at once.
    assert ask(sim, "VOLT:PROT 4.5;OUTP?;VOLT:PROT:TRIP?") == "0;1"


def test_an_armed_fuse_trips_when_the_current_limit_is_reached(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 3;APPL 5,2;FUSE ON;OUTP ON")
    clock.advance(1.0)
    assert ask(sim, "OUTP?;FUSE:TRIP?") == "1;0"  # 1 A, below the limit
    sim.set_load(3, "1")  # a short-ish: would draw 5 A
    clock.advance(0.01)
    assert ask(sim, "OUTP?;OUTP:SEL?;FUSE:TRIP?;MEAS:CURR?") == "0;0;1;0.0000"
    assert ask(sim, "STAT:QUES:INST:ISUM3:COND?") == str(1 << 10)
    clock.advance(5.0)
    assert ask(sim, "FUSE:TRIP?") == "1"  # latched while the channel stays off
    sim.handle_line("FUSE OFF;OUTP ON")  # switching the channel re-arms it
    assert ask(sim, "FUSE:TRIP?") == "0"
    clock.advance(1.0)
    assert measure(sim, 3)[2] == "CC"  # disarmed: it stays in current limit
    assert ask(sim, "OUTP?;FUSE:TRIP?") == "1;0"
    assert errors(sim) == []


def test_the_fuse_delay_rides_through_a_lamp_inrush(sim: PsuSimulator, clock: FakeClock) -> None:
    sim.set_load(2, "lamp:2:12:12:0.1")
    sim.handle_line("INST:NSEL 2;APPL 12,1.4;FUSE ON;FUSE:DEL 250;OUTP ON")
    clock.advance(2.0)
    assert ask(sim, "OUTP?;FUSE:TRIP?") == "1;0"
    assert measure(sim, 2)[2] == "CV"
    sim.handle_line("OUTP OFF;FUSE:DEL 20")
    clock.advance(2.0)  # the filament cools down
    sim.handle_line("OUTP ON")
    clock.advance(0.5)
    assert ask(sim, "OUTP?;FUSE:TRIP?") == "0;1"


def test_a_tripped_fuse_switches_its_linked_channels_off(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 1;APPL 5,1;OUTP:SEL ON;INST:NSEL 4;APPL 5,1;OUTP:SEL ON")
    sim.handle_line("INST:NSEL 3;APPL 5,2;FUSE ON;FUSE:LINK 1;FUSE:LINK 2;OUTP ON")
    sim.handle_line("FUSE:UNL 2")
    assert ask(sim, "FUSE:LINK? 1;FUSE:LINK? 2;FUSE:LINK? 4") == "1;0;0"
    clock.advance(1.0)
    sim.set_load(3, "1")
    clock.advance(0.01)
    assert ask(sim, "INST:NSEL 1;OUTP?;FUSE:TRIP?;INST:NSEL 4;OUTP?;FUSE:TRIP?") == "0;1;1;0"
    sim.handle_line("INST:NSEL 3;FUSE:LINK 3")
    assert errors(sim) == ['-224,"Illegal parameter value;channel 3 cannot be linked to itself"']


def test_rst_restores_power_up_settings_but_keeps_the_loads(
    sim: PsuSimulator, clock: FakeClock
) -> None:
    sim.handle_line("INST:NSEL 2;APPL 5,0.5;VOLT:PROT 4;FUSE ON;FUSE:LINK 1;OUTP ON;VOLT:STEP 2")
    clock.advance(1.0)
    sim.set_load(3, "7.5")
    sim.handle_line("*RST")
    line = "INST:NSEL?;OUTP:GEN?;INST:NSEL 2;VOLT?;CURR?;OUTP:SEL?;VOLT:PROT?;VOLT:PROT:TRIP?"
    assert ask(sim, line + ";FUSE?;FUSE:LINK? 1;VOLT:STEP?") == (
        "1;0;0.000;1.0000;0;33.000;0;0;0;1.000"
    )
    assert sim.channel(3).load.describe() == "7.5"


def test_remote_and_local_control_are_accepted(sim: PsuSimulator) -> None:
    for line in ("SYST:REM", "SYST:MIX", "SYST:RWL", "SYST:BEEP", "SYST:BEEP:IMM", "SYST:LOC"):
        sim.handle_line(line)
    assert errors(sim) == []


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
        PsuSimulator(loads={5: PsuSimulator().channel(1).load})
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
        ["--load", "5=10"],
    ],
)
def test_main_rejects_bad_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
