"""The simulated controller's physics and rules, on PMAC lines at simulated times we choose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controlroom.devices.hexapod import codes
from controlroom.devices.hexapod.sim.controller import BOOT_S, SimulatedController
from controlroom.devices.hexapod.sim.pmac import Terminal

DELAY_S = 0.02  # the PLC picks a command up this long after it was written


class Bench:
    """A simulated controller driven by command lines at chosen simulated times."""

    def __init__(self) -> None:
        self.controller = SimulatedController(0.0, command_delay_s=DELAY_S)
        self.terminal = Terminal(self.controller)
        self.now = 0.0

    def ask(self, line: str, at: float | None = None) -> list[float]:
        self.now = self.now if at is None else at
        reply = self.terminal.execute(line, self.now)
        return [float(v) for v in reply.split("\r") if v]

    def command(self, code: int, params: str = "", at: float | None = None) -> int:
        """Write ``code`` into Q20 and read its return code once the PLC has run it."""
        self.ask(f"&2 {params} Q20={code}".replace("  ", " "), at)
        return int(self.ask("&2 Q20", self.now + DELAY_S)[0])

    def move(self, *pose: float, mode: int = 0, at: float | None = None) -> int:
        targets = " ".join(f"Q{71 + n}={v}" for n, v in enumerate(pose))
        return self.command(codes.Code.MOVE, f"Q70={mode} {targets}", at)

    def user(self, at: float) -> list[float]:
        return self.ask("&2 Q53,6,1", at)

    def machine(self, at: float) -> list[float]:
        return self.ask("&2 Q47,6,1", at)

    def state(self, at: float) -> tuple[int, int, int]:
        word, homing, posref = (int(v) for v in self.ask("&2 Q36 Q26,2,1", at))
        return word, homing, posref

    def flag(self, name: str, at: float) -> bool:
        return bool(self.state(at)[0] >> codes.STATE_BITS.index(name) & 1)

    def homed(self) -> float:
        """Home the hexapod; the simulated time when it is done."""
        assert self.command(codes.Code.HOMING) == codes.SUCCESS
        done = self.now + 30.0
        assert self.state(done)[1] == codes.Homing.DONE
        return done


@pytest.fixture
def bench() -> Bench:
    return Bench()


def test_it_powers_up_retracted_not_homed_with_its_control_loop_off(bench: Bench) -> None:
    assert bench.user(0.0) == [0, 0, -18, 0, 0, 0]
    lengths = bench.ask("&2 Q41,6,1")
    assert len(set(lengths)) == 1 and lengths[0] < bench.controller.geometry.zero_lengths[0]
    assert bench.flag("initialized", 0.0) and bench.flag("brake_on", 0.0)
    assert not bench.flag("control_on", 0.0) and not bench.flag("homing_done", 0.0)
    assert bench.move(1, 0, 0, 0, 0, 0) == codes.IGNORED  # control loop off


def test_a_command_runs_one_plc_cycle_after_it_is_written(bench: Bench) -> None:
    bench.ask("&2 Q20=3", at=1.0)
    assert bench.ask("&2 Q20", 1.0 + DELAY_S / 2) == [3]
    assert bench.ask("&2 Q20", 1.0 + DELAY_S) == [0]
    assert bench.flag("control_on", 1.1)


def test_homing_takes_time_goes_to_the_switches_then_to_zero(bench: Bench) -> None:
    assert bench.command(codes.Code.HOMING, at=0.0) == codes.SUCCESS
    heights = [bench.machine(t)[2] for t in (1.0, 3.0, 6.0, 9.0, 14.0)]
    assert bench.state(6.0)[1] == codes.Homing.RUNNING and bench.flag("control_on", 6.0)
    assert heights == sorted(heights) and heights[0] > -18 and heights[-1] < 0
    # 6 mm up to the switches and 12 mm on to zero at 1 mm/s, plus the ramps: 18.4 s.
    assert bench.state(18.3)[1] == codes.Homing.RUNNING
    assert bench.state(18.5)[1] == codes.Homing.DONE
    assert bench.machine(18.5) == [0] * 6 and bench.flag("in_position", 18.5)


def test_a_move_takes_time_and_passes_through_the_poses_on_the_way(bench: Bench) -> None:
    start = bench.homed()
    assert bench.move(12, -6, 4, 0, 0, 0, at=start) == codes.SUCCESS
    began = start + DELAY_S
    distance = math.sqrt(12**2 + 6**2 + 4**2)  # 14 mm at 1 mm/s, plus a 0.2 s ramp
    samples = [bench.user(began + t) for t in (0.5, 3.0, 7.0, 11.0, distance)]
    fractions = [p[0] / 12 for p in samples]
    assert fractions == sorted(fractions) and fractions[0] > 0 and fractions[-1] < 1
    for pose, fraction in zip(samples, fractions, strict=True):
        assert pose == pytest.approx(
            [12 * fraction, -6 * fraction, 4 * fraction, 0, 0, 0], abs=1e-5
        )
    assert bench.flag("in_position", began + distance) is False
    assert bench.user(began + distance + 0.2) == pytest.approx([12, -6, 4, 0, 0, 0])
    assert bench.flag("in_position", began + distance + 0.2)


def test_a_rotation_turns_in_step_at_the_rotation_speed(bench: Bench) -> None:
    start = bench.homed()
    assert bench.command(codes.Code.SET_SPEED, "Q80=2 Q81=0.5", at=start) == codes.SUCCESS
    assert bench.move(0, 0, 0, 0, 0, 10, at=bench.now) == codes.SUCCESS
    began = bench.now
    halfway = bench.user(began + 10.1)  # 20 s at 0.5 deg/s; the ramps are symmetric
    assert halfway == pytest.approx([0, 0, 0, 0, 0, 5], abs=1e-3)
    assert bench.user(began + 20.2) == pytest.approx([0, 0, 0, 0, 0, 10])


def test_targets_out_of_the_workspace_or_the_stroke_are_refused(bench: Bench) -> None:
    start = bench.homed()
    assert bench.move(50, 0, 20, 0, 0, 0, at=start) == codes.INVALID  # each axis alone is fine
    assert bench.ask("&2 Q29 Q28") == [64, 2]  # an actuator out of its stroke
    assert bench.move(60, 0, 0, 0, 0, 0) == codes.INVALID
    assert int(bench.ask("&2 Q29")[0]) == 0b111000  # factory, machine and user workspaces
    assert bench.machine(bench.now + 5) == [0] * 6  # nothing moved
    limits = " ".join(f"Q{80 + n}={v}" for n, v in enumerate([-5] * 6 + [5] * 6))
    assert bench.command(codes.Code.SET_USER_LIMITS, limits) == codes.SUCCESS
    assert bench.move(6, 0, 0, 0, 0, 0) == codes.INVALID
    assert int(bench.ask("&2 Q29")[0]) == 1 << 5  # the user workspace alone
    assert bench.command(codes.Code.SET_LIMITS_ENABLED, "Q80=1 Q81=0") == codes.SUCCESS
    assert bench.move(6, 0, 0, 0, 0, 0) == codes.SUCCESS


def test_moves_need_the_home_and_wait_for_the_motion_in_progress(bench: Bench) -> None:
    assert bench.command(codes.Code.CONTROL_ON, at=0.0) == codes.SUCCESS
    assert bench.move(1, 0, 0, 0, 0, 0) == codes.INVALID
    assert int(bench.ask("&2 Q29")[0]) & 1  # homing not done
    start = bench.homed()
    assert bench.move(10, 0, 0, 0, 0, 0, at=start) == codes.SUCCESS
    assert bench.move(-10, 0, 0, 0, 0, 0, at=start + 1) == codes.IGNORED  # still moving
    assert bench.command(codes.Code.CONTROL_OFF, at=start + 2) == codes.IGNORED


def test_a_stop_halts_the_move_short_of_its_target(bench: Bench) -> None:
    start = bench.homed()
    assert bench.move(30, 0, 0, 0, 0, 0, at=start) == codes.SUCCESS
    asked_at = start + 10.0
    assert bench.command(codes.Code.STOP, at=asked_at) == codes.SUCCESS
    where_asked = bench.user(asked_at)[0]
    rest = bench.user(asked_at + 5.0)[0]
    assert where_asked < rest < where_asked + 0.2 < 30  # it brakes within a ramp, then rests
    assert bench.command(codes.Code.STOP, at=asked_at + 0.05) == codes.SUCCESS  # braking already
    assert bench.user(asked_at + 20.0)[0] == rest
    word, _, posref = bench.state(asked_at + 5.0)
    assert posref == 0 and not word >> 2 & 1  # not in position
    assert bench.move(0, 0, 0, 0, 0, 0) == codes.SUCCESS  # and free to move again


def test_a_following_error_freezes_the_platform_and_latches_an_error(bench: Bench) -> None:
    start = bench.homed()
    bench.controller.arm_following_error(0.5)
    assert bench.move(20, 0, 0, 0, 0, 0, at=start) == codes.SUCCESS
    frozen = bench.user(start + 40.0)[0]
    assert frozen == pytest.approx(10.0, abs=0.2)  # half of 20.2 s of a 20 mm move
    assert bench.ask("&2 Q38 Q27") == [codes.Error.FOLLOWING_ERROR, codes.Positioning.ERROR]
    assert bench.flag("error", bench.now) and bench.flag("following_error", bench.now)
    assert not bench.flag("control_on", bench.now)
    assert bench.command(codes.Code.CONTROL_ON) == codes.IGNORED
    assert bench.command(codes.Code.CLEAR_ERROR) == codes.SUCCESS
    assert bench.command(codes.Code.CONTROL_ON) == codes.SUCCESS
    assert bench.ask("&2 Q38") == [0] and bench.flag("homing_done", bench.now)


def test_coordinate_systems_shift_the_user_positions_not_the_platform(bench: Bench) -> None:
    start = bench.homed()
    frames = " ".join(
        f"Q{80 + n}={v}" for n, v in enumerate([0, 0, 10, 0, 0, 90, 0, 0, 5, 0, 0, 0])
    )
    assert bench.command(codes.Code.SET_CS, frames, at=start) == codes.SUCCESS
    assert bench.user(bench.now) == pytest.approx([0, 0, -5, 0, 0, -90])
    assert bench.machine(bench.now) == [0] * 6
    assert bench.command(codes.Code.GET_CS) == codes.SUCCESS
    assert bench.ask("&2 Q80,12,1") == [0, 0, 10, 0, 0, 90, 0, 0, 5, 0, 0, 0]


def test_a_reset_reboots_the_controller_and_loses_the_home(bench: Bench) -> None:
    start = bench.homed()
    bench.ask("$$$", start)
    assert not bench.flag("initialized", start + 1.0)
    assert bench.command(codes.Code.CONTROL_ON, at=start + 1.0) == codes.IGNORED
    assert bench.flag("initialized", start + BOOT_S)
    assert (
        not bench.flag("homing_done", start + BOOT_S) and bench.machine(start + BOOT_S) == [0] * 6
    )


def test_the_pmac_refuses_what_it_does_not_understand(bench: Bench) -> None:
    assert bench.terminal.execute("&2 Q53,6,1 HELLO Q20", 0.0).endswith("\x07ERR003\r")
    assert bench.terminal.execute("Q1=5 Q1 &2 Q1", 0.0) == "5\r0\r"  # CS 1 is plain memory
    assert bench.terminal.execute("&2 Q9000", 0.0) == "\x07ERR003\r"
    assert bench.terminal.execute("VERSION CID", 0.0) == "1.947\r603382\r"


def test_lengths_follow_the_pose(bench: Bench) -> None:
    start = bench.homed()
    bench.move(0, 0, 10, 0, 0, 0, at=start)
    lengths = np.array(bench.ask("&2 Q41,6,1", bench.now + 20))
    zero = bench.controller.geometry.zero_lengths
    assert np.ptp(lengths) == pytest.approx(0, abs=1e-5) and lengths[0] > zero[0]
