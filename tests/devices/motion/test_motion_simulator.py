"""The ESP300 simulator: protocol, kinematics and faults, on a fake clock."""

from __future__ import annotations

import pytest

from controlroom.devices.motion.sim.server import MotionSimulator


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
def sim(clock: FakeClock) -> MotionSimulator:
    return MotionSimulator(clock=clock, sleep=clock.advance, latency_s=0.0)


def ask(sim: MotionSimulator, line: str) -> str:
    reply = sim.handle_line(line)
    assert reply is not None, f"no reply to {line!r}"
    return reply


def send(sim: MotionSimulator, line: str) -> None:
    assert sim.handle_line(line) is None


def number(sim: MotionSimulator, line: str) -> float:
    return float(ask(sim, line))


def error(sim: MotionSimulator) -> int:
    return int(ask(sim, "TE?"))


def home_all(sim: MotionSimulator, clock: FakeClock) -> None:
    assert ask(sim, "1OR;2OR;3OR;4OR;TE?") == "0"
    clock.advance(60.0)
    assert ask(sim, "1TP;2TP;3TP;4TP;TE?") == "0.00000,0.00000,0.00000,0.00000,0"


def test_power_up_state(sim: MotionSimulator) -> None:
    assert ask(sim, "VE?") == "ESP300 Version 3.08 09/09/02"
    # The controller counts from where each stage stood at power-up.
    assert ask(sim, "1TP;2TP;3TP;4TP") == "0.00000,0.00000,0.00000,0.00000"
    assert ask(sim, "1MD?;1MO?;1DP?") == "1,1,0.00000"
    assert ask(sim, "1VA?;1AC?;1AG?;1SL?;1SR?") == "5.00000,20.00000,20.00000,-50.00000,50.00000"
    assert ask(sim, "1VU?;1AU?") == "25.00000,200.00000"
    assert ask(sim, "4SL?;4SR?;1SN?;4SN?") == "-170.00000,170.00000,2,7"
    assert ask(sim, "4ID?") == "URS100BCC, SIM00004"
    assert error(sim) == 0


def test_moves_need_no_homing(sim: MotionSimulator, clock: FakeClock) -> None:
    assert ask(sim, "1PA5;TE?") == "0"
    clock.advance(5.0)
    assert ask(sim, "1TP;1MD?") == "5.00000,1"


def test_homing_takes_time_and_makes_the_home_switch_zero(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    assert ask(sim, "1OR;TE?") == "0"
    clock.advance(1.0)
    assert ask(sim, "1MD?") == "0"
    assert -12.5 < number(sim, "1TP") < 0.0  # the switch lies 12.5 mm below the power-up place
    # 12.5 mm at 5 mm/s and 20 mm/s²: 0.25 s up, 2.25 s cruise, 0.25 s down.
    clock.advance(1.74)
    assert ask(sim, "1MD?") == "0"
    clock.advance(0.02)
    assert ask(sim, "1MD?;1TP;1DP?;1DH?") == "1,0.00000,0.00000,0.00000"
    assert sim.controller.axes[0].homed


def test_the_home_preset_is_where_a_search_ends(sim: MotionSimulator, clock: FakeClock) -> None:
    assert ask(sim, "2SH5;2SH?;2OR1;TE?") == "5.00000,0"
    clock.advance(10.0)
    assert ask(sim, "2TP;2DP?") == "5.00000,5.00000"


def test_a_stopped_home_search_is_aborted(sim: MotionSimulator, clock: FakeClock) -> None:
    send(sim, "4OR")
    clock.advance(1.0)
    send(sim, "4ST")
    clock.advance(5.0)
    assert ask(sim, "4MD?") == "1"
    assert -30.0 < number(sim, "4TP") < 0.0
    assert error(sim) == 420
    assert not sim.controller.axes[3].homed


def test_define_home_renames_the_current_position(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "3PA2")
    clock.advance(5.0)
    assert ask(sim, "3DH;3TP;3DP?") == "0.00000,0.00000"
    assert ask(sim, "3DH-1.5;3TP;3DH?;TE?") == "-1.50000,-1.50000,0"
    send(sim, "3PR1")
    clock.advance(5.0)
    assert ask(sim, "3TP") == "-0.50000"


def test_position_follows_a_trapezoidal_profile(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    assert ask(sim, "1PA40;TE?") == "0"
    # 40 mm at 5 mm/s, 20 mm/s²: 0.25 s to cruise (0.625 mm), 7.75 s cruising, 0.25 s down.
    samples = []
    for _ in range(80):  # up to 8.0 s of the 8.25 s
        clock.advance(0.1)
        samples.append((number(sim, "1TP"), ask(sim, "1MD?")))
    positions = [p for p, _ in samples]
    assert all(0.0 < p < 40.0 for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(done == "0" for _, done in samples)
    assert positions[39] == pytest.approx(0.625 + 5.0 * (4.0 - 0.25), abs=1e-5)
    clock.advance(0.25)
    assert ask(sim, "1TP;1TV;1MD?") == "40.00000,0.00000,1"


def test_the_profile_has_its_ramps_at_both_ends(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA10")
    clock.advance(0.1)  # accelerating: s = a t² / 2
    assert number(sim, "1TP") == pytest.approx(0.1, abs=1e-5)
    assert number(sim, "1TV") == pytest.approx(2.0)
    clock.advance(1.0)  # cruising
    assert number(sim, "1TV?") == pytest.approx(5.0)
    assert number(sim, "1DV") == pytest.approx(5.0)
    clock.advance(1.05)  # 0.1 s before the end (2.25 s), decelerating: 10 - a (0.1)² / 2
    assert number(sim, "1TP") == pytest.approx(9.9, abs=1e-5)
    assert number(sim, "1TV") == pytest.approx(2.0)


def test_deceleration_has_its_own_rate(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    assert ask(sim, "1AG10;TE?") == "0"
    send(sim, "1PA10")  # 0.25 s up (0.625 mm), 1.625 s cruise, 0.5 s down (1.25 mm)
    clock.advance(0.25 + 1.625 + 0.25)
    assert number(sim, "1TV") == pytest.approx(2.5)
    clock.advance(0.25)
    assert ask(sim, "1TP;1MD?") == "10.00000,1"


def test_a_short_move_never_reaches_the_cruise_velocity(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    send(sim, "2PA-0.8")  # triangle: 0.2 s up to 4 mm/s, 0.2 s down
    speeds = []
    for _ in range(4):
        clock.advance(0.1)
        speeds.append(number(sim, "2TV"))
    assert speeds == pytest.approx([-2.0, -4.0, -2.0, 0.0])
    assert ask(sim, "2TP;2MD?") == "-0.80000,1"


def test_stop_decelerates_and_ends_short_of_the_target(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    send(sim, "1PA40")
    clock.advance(2.0)
    at_stop = number(sim, "1TP")
    assert ask(sim, "1ST;TE?") == "0"
    clock.advance(0.1)  # still moving, slower
    assert ask(sim, "1MD?") == "0"
    assert number(sim, "1TV") == pytest.approx(3.0)
    assert number(sim, "1TP") > at_stop
    clock.advance(1.0)
    # Braking from 5 mm/s at 20 mm/s² takes 0.625 mm.
    assert number(sim, "1TP") == pytest.approx(at_stop + 0.625, abs=1e-5)
    assert ask(sim, "1MD?;1DP?;1PA?") == "1,40.00000,40.00000"


def test_stop_all_and_abort(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA30;2PA30")
    clock.advance(1.0)
    send(sim, "ST")
    clock.advance(1.0)
    assert ask(sim, "1MD?;2MD?") == "1,1"
    send(sim, "3PA20")
    clock.advance(1.0)
    frozen = number(sim, "3TP")
    assert ask(sim, "AB;TE?") == "0"
    clock.advance(1.0)
    assert number(sim, "3TP") == frozen  # no ramp: the motor was cut
    assert ask(sim, "1MO?;2MO?;3MO?;4MO?") == "0,0,0,0"
    assert ask(sim, "3PA0;TE?") == "313"  # motor not enabled
    assert ask(sim, "3MO;3PA0;TE?") == "0"


def test_software_limits_refuse_moves(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    assert ask(sim, "1PA50.5;TE?") == "106"
    assert ask(sim, "1PA-60;TE?") == "107"
    assert ask(sim, "4PR171;TE?") == "406"
    assert ask(sim, "1MD?;1TP;4TP") == "1,0.00000,0.00000"
    assert ask(sim, "3SL-2;3SR2;TE?") == "0"
    assert ask(sim, "3PA3;TE?") == "306"
    assert ask(sim, "3SL5;TE?") == "7"  # a lower limit above the upper one
    assert ask(sim, "3SL?;3SR?") == "-2.00000,2.00000"
    assert ask(sim, "3PA2;TE?") == "0"  # a limit itself is within


def test_relative_moves_add_up(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "2PR5")
    clock.advance(5.0)
    send(sim, "2PR-1.5")
    clock.advance(5.0)
    assert ask(sim, "2TP;2DP?;2PR?;TE?") == "3.50000,3.50000,3.50000,0"


def test_a_moving_axis_refuses_a_new_move(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA10")
    assert ask(sim, "1PA20;TE?") == "27"
    assert ask(sim, "1OR;TE?") == "27"
    assert ask(sim, "2PA1;TE?") == "0"  # the other axes are free
    clock.advance(5.0)
    assert ask(sim, "1DP?;1TP") == "10.00000,10.00000"
    send(sim, "1OR")
    assert ask(sim, "1PA5;1DH;TE?;TE?") == "130,130"  # not during a home search


def test_velocity_and_accelerations_change_the_next_move(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    assert ask(sim, "1VA20;1AC200;1AG200;TE?") == "0"
    send(sim, "1PA20")
    clock.advance(1.1)  # 0.1 s up, 0.9 s cruise, 0.1 s down
    assert ask(sim, "1TP;1MD?") == "20.00000,1"
    assert ask(sim, "1VA0;TE?") == "7"
    assert ask(sim, "1VA26;TE?") == "110"  # above the maximum (VU)
    assert ask(sim, "1AC201;TE?") == "111"  # above the maximum (AU)
    assert ask(sim, "1VU30;1VA26;1VA?;TE?") == "26.00000,0"


def test_a_following_error_trips_the_axis(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    sim.inject_following_error(1, 0.5)
    send(sim, "1PA20")  # 4.25 s; it trips at 2.125 s
    clock.advance(3.0)
    assert ask(sim, "TE?") == "103"
    assert ask(sim, "1MD?;1MO?") == "1,0"
    assert number(sim, "1TP") == pytest.approx(10.0, abs=1e-5)
    assert ask(sim, "1PA0;TE?") == "113"  # motor off
    assert ask(sim, "1MO;1PA0;TE?") == "0"  # the position is still known
    clock.advance(5.0)
    send(sim, "1PA1")  # the fault fired once
    clock.advance(2.0)
    assert ask(sim, "1TP;TE?") == "1.00000,0"


def test_a_following_error_aborts_a_home_search(sim: MotionSimulator, clock: FakeClock) -> None:
    sim.inject_following_error(2, 0.5)
    send(sim, "2OR")
    clock.advance(5.0)
    assert ask(sim, "TE?;TE?;TE?") == "203,220,0"


def test_the_error_buffer_is_read_oldest_first(sim: MotionSimulator, clock: FakeClock) -> None:
    send(sim, "9TP;1PA99")
    clock.advance(0.5)
    send(sim, "XX")
    assert ask(sim, "TB?") == "9, 0, AXIS NUMBER OUT OF RANGE"
    assert ask(sim, "TE?") == "106"
    assert ask(sim, "TB?") == "6, 1250, COMMAND DOES NOT EXIST"
    assert ask(sim, "TB?") == "0, 1250, NO ERROR DETECTED"


def test_the_error_buffer_keeps_the_last_ten(sim: MotionSimulator) -> None:
    send(sim, ";".join(f"{n}TP" for n in range(5, 17)))  # twelve errors 9
    send(sim, "XX")
    replies = ask(sim, ";".join(["TE?"] * 11)).split(",")
    assert replies == ["9"] * 9 + ["6", "0"]


def test_wait_for_stop_holds_the_rest_of_the_line(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    start = clock.now
    assert ask(sim, "2PA10;2WS;2TP;2MD?;2PA0;2WS500;TE?") == "10.00000,1,0"
    assert clock.now - start == pytest.approx(2.25 + 2.25 + 0.5)
    assert ask(sim, "2TP") == "0.00000"
    before = clock.now
    send(sim, "2WS")  # at rest: no wait
    assert clock.now == before


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("FOO", 6),
        ("1XX?", 6),
        ("1HM?", 6),
        ("1IP?", 6),
        ("TP?", 37),
        ("MD", 37),
        ("9TP?", 9),
        ("0TP", 9),
        ("1PA", 38),
        ("1VA", 38),
        ("1PA abc", 7),
        ("1PA nan", 7),
        ("1TP? 3", 7),
        ("1TP3", 7),
        ("1MO now", 7),
        ("1OR9", 7),
        ("1OR%d", 7),
        ("1ST?", 7),
        ("1SN3", 7),
        ("1WS-1", 7),
        ("VE? x", 7),
        ("AB?", 7),
        ("42", 6),
    ],
)
def test_bad_commands_give_no_reply_and_an_error_code(
    sim: MotionSimulator, line: str, code: int
) -> None:
    assert sim.handle_line(line) is None
    assert error(sim) == code
    assert error(sim) == 0  # reading removes it


def test_compound_lines_blanks_and_case(sim: MotionSimulator) -> None:
    assert ask(sim, "1tp?; 2 T P ;FOO;03tp") == "0.00000,0.00000,0.00000"
    assert error(sim) == 6
    assert ask(sim, "1 MD ; te ; ve") == "1,0,ESP300 Version 3.08 09/09/02"
    assert sim.handle_line("") is None
    assert sim.handle_line(" ; ;; ") is None


def test_a_number_before_a_controller_command_is_ignored(sim: MotionSimulator) -> None:
    send(sim, "1XX")
    assert ask(sim, "01TE?") == "6"
    assert ask(sim, "2VE?") == "ESP300 Version 3.08 09/09/02"


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="speed"):
        MotionSimulator(speed=0)
    with pytest.raises(ValueError, match="latency"):
        MotionSimulator(latency_s=-1)
    with pytest.raises(ValueError, match="fraction"):
        MotionSimulator().inject_following_error(1, 1.5)


def test_speed_makes_simulated_time_run_faster(clock: FakeClock) -> None:
    sim = MotionSimulator(clock=clock, latency_s=0.0, speed=10.0)
    send(sim, "3OR")  # 3 mm at 2 mm/s, 10 mm/s²: 1.7 s simulated
    clock.advance(0.2)
    assert ask(sim, "3MD?;3TP") == "1,0.00000"
