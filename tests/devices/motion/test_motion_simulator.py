"""The stage controller simulator: protocol, kinematics and faults, on a fake clock."""

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
    return MotionSimulator(clock=clock, latency_s=0.0)


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
    assert ask(sim, "1HM?;2HM?;3HM?;4HM?") == "1,1,1,1"


def test_power_up_state(sim: MotionSimulator) -> None:
    assert ask(sim, "VE?") == "controlroom MC4 stage controller simulator 1.0"
    assert ask(sim, "1TP?;2TP?;3TP?;4TP?") == "12.50000,-7.25000,3.00000,30.00000"
    assert ask(sim, "1HM?;1MD?;1IP?;1MO?") == "0,1,0,1"
    assert ask(sim, "1VA?;1AC?;1SL?;1SR?") == "5.00000,20.00000,-50.00000,50.00000"
    assert ask(sim, "4SL?;4SR?") == "-170.00000,170.00000"
    assert error(sim) == 0


def test_moves_need_homing_first(sim: MotionSimulator) -> None:
    assert ask(sim, "1PA 5;TE?") == "150"
    assert ask(sim, "3PR 1;TE?") == "350"
    assert ask(sim, "1MD?;1TP?") == "1,12.50000"


def test_homing_takes_time_and_ends_at_home(sim: MotionSimulator, clock: FakeClock) -> None:
    assert ask(sim, "1OR;TE?") == "0"
    clock.advance(1.0)
    assert ask(sim, "1MD?;1HM?;1IP?") == "0,0,0"
    assert 0.0 < number(sim, "1TP?") < 12.5
    # 12.5 mm at 5 mm/s and 20 mm/s²: 0.25 s up, 2.25 s cruise, 0.25 s down.
    clock.advance(1.74)
    assert ask(sim, "1MD?;1HM?") == "0,0"
    clock.advance(0.02)
    assert ask(sim, "1MD?;1HM?;1IP?;1TP?;1DP?") == "1,1,1,0.00000,0.00000"


def test_a_stopped_homing_run_leaves_the_axis_not_homed(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    send(sim, "4OR")
    clock.advance(1.0)
    send(sim, "4ST")
    clock.advance(5.0)
    assert ask(sim, "4MD?;4HM?;4IP?") == "1,0,0"
    assert 0.0 < number(sim, "4TP?") < 30.0
    assert ask(sim, "4PA 0;TE?") == "450"


def test_position_follows_a_trapezoidal_profile(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    assert ask(sim, "1PA 40;TE?") == "0"
    # 40 mm at 5 mm/s, 20 mm/s²: 0.25 s to cruise (0.625 mm), 7.75 s cruising, 0.25 s down.
    samples = []
    for _ in range(80):  # up to 8.0 s of the 8.25 s
        clock.advance(0.1)
        samples.append((number(sim, "1TP?"), ask(sim, "1MD?;1IP?")))
    positions = [p for p, _ in samples]
    assert all(0.0 < p < 40.0 for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(flags == "0,0" for _, flags in samples)
    assert positions[39] == pytest.approx(0.625 + 5.0 * (4.0 - 0.25), abs=1e-5)
    clock.advance(0.25)
    assert ask(sim, "1TP?;1TV?;1MD?;1IP?") == "40.00000,0.00000,1,1"


def test_the_profile_has_its_ramps_at_both_ends(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA 10")
    clock.advance(0.1)  # accelerating: s = a t² / 2
    assert number(sim, "1TP?") == pytest.approx(0.1, abs=1e-5)
    assert number(sim, "1TV?") == pytest.approx(2.0)
    clock.advance(1.0)  # cruising
    assert number(sim, "1TV?") == pytest.approx(5.0)
    clock.advance(1.05)  # 0.1 s before the end (2.25 s), decelerating: 10 - a (0.1)² / 2
    assert number(sim, "1TP?") == pytest.approx(9.9, abs=1e-5)
    assert number(sim, "1TV?") == pytest.approx(2.0)


def test_a_short_move_never_reaches_the_cruise_velocity(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    send(sim, "2PA -0.8")  # triangle: 0.2 s up to 4 mm/s, 0.2 s down
    speeds = []
    for _ in range(4):
        clock.advance(0.1)
        speeds.append(number(sim, "2TV?"))
    assert speeds == pytest.approx([-2.0, -4.0, -2.0, 0.0])
    assert ask(sim, "2TP?;2IP?") == "-0.80000,1"


def test_stop_decelerates_and_ends_short_of_the_target(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    send(sim, "1PA 40")
    clock.advance(2.0)
    at_stop = number(sim, "1TP?")
    assert ask(sim, "1ST;TE?") == "0"
    clock.advance(0.1)  # still moving, slower
    assert ask(sim, "1MD?") == "0"
    assert number(sim, "1TV?") == pytest.approx(3.0)
    assert number(sim, "1TP?") > at_stop
    clock.advance(1.0)
    # Braking from 5 mm/s at 20 mm/s² takes 0.625 mm.
    assert number(sim, "1TP?") == pytest.approx(at_stop + 0.625, abs=1e-5)
    assert ask(sim, "1MD?;1IP?;1DP?") == "1,0,40.00000"


def test_stop_all_and_abort(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA 30;2PA 30")
    clock.advance(1.0)
    send(sim, "ST")
    clock.advance(1.0)
    assert ask(sim, "1MD?;2MD?") == "1,1"
    send(sim, "3PA 20")
    clock.advance(1.0)
    frozen = number(sim, "3TP?")
    assert ask(sim, "AB;TE?") == "0"
    clock.advance(1.0)
    assert number(sim, "3TP?") == frozen  # no ramp: the motor was cut
    assert ask(sim, "1MO?;2MO?;3MO?;4MO?") == "0,0,0,0"
    assert ask(sim, "3PA 0;TE?") == "313"  # motor not enabled
    assert ask(sim, "3MO;3PA 0;TE?") == "0"


def test_software_limits_refuse_moves(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    assert ask(sim, "1PA 50.5;TE?") == "106"
    assert ask(sim, "1PA -60;TE?") == "107"
    assert ask(sim, "4PR 171;TE?") == "406"
    assert ask(sim, "1MD?;1TP?;4TP?") == "1,0.00000,0.00000"
    assert ask(sim, "3SL -2;3SR 2;TE?") == "0"
    assert ask(sim, "3PA 3;TE?") == "306"
    assert ask(sim, "3SL 5;TE?") == "7"  # a lower limit above the upper one
    assert ask(sim, "3SL?;3SR?") == "-2.00000,2.00000"
    assert ask(sim, "3PA 2;TE?") == "0"  # a limit itself is within


def test_relative_moves_add_up(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "2PR 5")
    clock.advance(5.0)
    send(sim, "2PR -1.5")
    clock.advance(5.0)
    assert ask(sim, "2TP?;2DP?;2IP?;TE?") == "3.50000,3.50000,1,0"


def test_a_moving_axis_refuses_a_new_move(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    send(sim, "1PA 10")
    assert ask(sim, "1PA 20;TE?") == "151"
    assert ask(sim, "1OR;TE?") == "151"
    assert ask(sim, "2PA 1;TE?") == "0"  # the other axes are free
    clock.advance(5.0)
    assert ask(sim, "1DP?;1TP?") == "10.00000,10.00000"


def test_velocity_and_acceleration_change_the_next_move(
    sim: MotionSimulator, clock: FakeClock
) -> None:
    home_all(sim, clock)
    assert ask(sim, "1VA 20;1AC 200;TE?") == "0"
    send(sim, "1PA 20")
    clock.advance(1.1)  # 0.1 s up, 0.9 s cruise, 0.1 s down
    assert ask(sim, "1TP?;1IP?") == "20.00000,1"
    assert ask(sim, "1VA 0;TE?") == "7"
    assert ask(sim, "1VA 26;TE?") == "7"  # above the stage's maximum
    assert ask(sim, "1AC -1;TE?") == "7"


def test_a_following_error_trips_the_axis(sim: MotionSimulator, clock: FakeClock) -> None:
    home_all(sim, clock)
    sim.inject_following_error(1, 0.5)
    send(sim, "1PA 20")  # 4.25 s; it trips at 2.125 s
    clock.advance(3.0)
    assert ask(sim, "TE?") == "103"
    assert ask(sim, "1MD?;1IP?;1HM?;1MO?") == "1,0,0,0"
    assert number(sim, "1TP?") == pytest.approx(10.0, abs=1e-5)
    assert ask(sim, "1PA 0;TE?") == "113"  # motor off
    assert ask(sim, "1MO;1PA 0;TE?") == "150"  # and the home is lost
    send(sim, "1OR")
    clock.advance(5.0)
    assert ask(sim, "1HM?;1IP?;1TP?") == "1,1,0.00000"
    send(sim, "1PA 1")  # the fault fired once
    clock.advance(2.0)
    assert ask(sim, "1TP?;TE?") == "1.00000,0"


def test_error_message_names_the_axis(sim: MotionSimulator) -> None:
    send(sim, "2PA 1")
    assert ask(sim, "TB?") == "250, AXIS 2 AXIS NOT HOMED"
    assert ask(sim, "TB?") == "0, NO ERROR DETECTED"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("FOO", 6),
        ("1XX?", 6),
        ("TP?", 37),
        ("9TP?", 9),
        ("0TP?", 9),
        ("1PA", 38),
        ("1PA abc", 39),
        ("1PA nan", 39),
        ("1TP? 3", 39),
        ("1OR now", 39),
        ("VE? x", 39),
        ("42", 6),
    ],
)
def test_bad_commands_give_no_reply_and_an_error_code(
    sim: MotionSimulator, line: str, code: int
) -> None:
    assert sim.handle_line(line) is None
    assert error(sim) == code
    assert error(sim) == 0  # reading clears it


def test_compound_lines_and_case(sim: MotionSimulator) -> None:
    assert ask(sim, "1tp?; 2TP? ;FOO;3tp?") == "12.50000,-7.25000,3.00000"
    assert error(sim) == 6
    assert sim.handle_line("") is None
    assert sim.handle_line(" ; ") is None


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
    assert ask(sim, "3HM?;3TP?") == "1,0.00000"
