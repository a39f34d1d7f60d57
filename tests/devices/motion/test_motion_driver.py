"""The ESP300 driver, tested by replaying command/response pairs (no socket)."""

from __future__ import annotations

import pytest

from controlroom.device import ArgumentError, ReplyError
from controlroom.devices.motion import (
    MotionController,
    MotionFailed,
    MotionRefused,
    MotionTimeout,
    OutsideLimits,
)
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary
from controlroom.testing import expected_protocol

ALL_AXES = "1TP;2TP;3TP;4TP;1DP?;2DP?;3DP?;4DP?;1MD?;2MD?;3MD?;4MD?"
AT_REST = "12.50000,-7.25000,3.00000,30.00000,12.50000,-7.25000,3.00000,30.00000,1,1,1,1"
ALL_MD = "1MD?;2MD?;3MD?;4MD?"
HOME_ALL = "1MO;1OR;2MO;2OR;3MO;3OR;4MO;4OR;TE?"


def test_the_manual_line_endings() -> None:
    assert MotionController.transport_defaults == {
        "read_terminator": "\r\n",
        "write_terminator": "\r",
    }


def test_queries_parse_to_numbers_and_flags() -> None:
    pairs = [
        ("VE?", "ESP300 Version 3.08 09/09/02"),
        ("1TP", "12.50000"),
        ("2DP?", "-7.25000"),
        ("3TV", "-2.00000"),
        ("1MD?", "0"),
        ("1VA?", "5.00000"),
        ("2AC?", "20.00000"),
        ("2AG?", "10.00000"),
        ("3SL?;3SR?", "-10.00000,25.00000"),
        ("1MO?", "1"),
        ("TE?", "0"),
        ("TB?", "107, 3125, NEGATIVE SOFTWARE LIMIT DETECTED"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        assert mc.version().startswith("ESP300 Version")
        assert mc.position(1) == 12.5
        assert mc.target(2) == -7.25
        assert mc.actual_velocity(3) == -2.0
        assert mc.motion_done(1) is False
        assert mc.velocity(1) == 5.0
        assert mc.acceleration(2) == 20.0
        assert mc.deceleration(2) == 10.0
        assert mc.soft_limits(3) == [-10.0, 25.0]
        assert mc.motor_enabled(1) is True
        assert mc.error_code() == 0
        assert mc.error_message() == {
            "code": 107,
            "timestamp": 3125,
            "message": "NEGATIVE SOFTWARE LIMIT DETECTED",
        }


def test_settings_and_motions_are_checked_with_the_error_code() -> None:
    pairs = [
        ("1VA2.5;TE?", "0"),
        ("2AC50.0;TE?", "0"),
        ("2AG40.0;TE?", "0"),
        ("1OR;TE?", "0"),
        ("1PA12.5;TE?", "0"),
        ("2PR-3.0;TE?", "0"),
        ("2DH0.0;TE?", "0"),
        ("1ST;TE?", "0"),
        ("ST;TE?", "0"),
        ("AB;TE?", "0"),
        ("3MO;TE?", "0"),
        ("3MF;TE?", "0"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        mc.set_velocity(1, 2.5)
        mc.set_acceleration(2, 50)
        mc.set_deceleration(2, 40)
        mc.start_homing(1)
        mc.start_move_absolute(1, 12.5)
        mc.start_move_relative(2, -3)
        mc.define_position(2, 0)
        mc.stop(1)
        mc.stop_all()
        mc.abort()
        mc.motor_on(3)
        mc.motor_off(3)


def test_a_refused_command_raises_with_the_controller_message() -> None:
    with expected_protocol(MotionController, [("1PA20.0;TE?", "113")]) as mc:
        with pytest.raises(MotionRefused, match="113: AXIS 1 MOTOR NOT ENABLED") as caught:
            mc.start_move_absolute(1, 20)
    assert caught.value.code == 113
    with expected_protocol(MotionController, [("2VA99.0;TE?", "210")]) as mc:
        with pytest.raises(MotionRefused, match="AXIS 2 MAXIMUM VELOCITY EXCEEDED"):
            mc.set_velocity(2, 99)


def test_bad_arguments_never_reach_the_controller() -> None:
    with expected_protocol(MotionController, []) as mc:
        with pytest.raises(ArgumentError):
            mc.position(5)
        with pytest.raises(ArgumentError):
            mc.start_move_absolute(1, 2000.0)
        with pytest.raises(ArgumentError):
            mc.set_velocity(1, 0)
        with pytest.raises(ArgumentError):
            mc.set_acceleration(1, -1)
        with pytest.raises(ArgumentError):
            mc.move_absolute(0, 1.0)
        with pytest.raises(ArgumentError):
            mc.wait_in_position(1, timeout_s=-1)


def test_move_absolute_checks_the_limits_before_moving() -> None:
    limits = ("1SL?;1SR?", "-50.00000,50.00000")
    with expected_protocol(MotionController, [limits]) as mc:
        with pytest.raises(OutsideLimits, match=r"axis x: 60.0 is outside .*\[-50.0, 50.0\]"):
            mc.move_absolute(1, 60.0)
    with expected_protocol(MotionController, [limits, ("1PA20.0;TE?", "0")]) as mc:
        assert mc.move_absolute(1, 20.0) is None


def test_move_relative_checks_where_the_move_would_end() -> None:
    where = ("4TP;4SL?;4SR?", "165.00000,-170.00000,170.00000")
    with expected_protocol(MotionController, [where]) as mc:
        with pytest.raises(OutsideLimits, match=r"axis rz: 175\.0"):
            mc.move_relative(4, 10.0)
    with expected_protocol(MotionController, [where, ("4PR-10.0;TE?", "0")]) as mc:
        mc.move_relative(4, -10.0)


def test_a_waited_move_polls_until_at_rest_at_the_target() -> None:
    pairs = [
        ("2SL?;2SR?", "-50.00000,50.00000"),
        ("2PA-5.0;TE?", "0"),
        ("2MD?", "0"),
        ("2MD?", "1"),
        ("2TP;2DP?;2MD?", "-5.00000,-5.00000,1"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        mc.move_absolute(2, -5.0, wait=True, timeout_s=5.0)


def test_wait_in_position_polls_every_axis_in_one_exchange() -> None:
    pairs = [(ALL_MD, "1,0,1,1"), (ALL_MD, "1,1,1,1"), (ALL_AXES, AT_REST)]
    with expected_protocol(MotionController, pairs) as mc:
        positions = mc.wait_in_position(poll_s=0.0)
    assert positions == {"x": 12.5, "y": -7.25, "z": 3.0, "rz": 30.0}


def test_wait_in_position_reports_an_axis_that_stopped_short() -> None:
    pairs = [
        (ALL_MD, "1,1,1,1"),
        (ALL_AXES, "1.0,3.2,3.0,4.0,1.0,8.0,3.0,4.0,1,1,1,1"),
        ("TE?", "203"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        message = r"axis y at rest at 3.2, not in position at 8.0; error 203: AXIS 2 FOLLOWING"
        with pytest.raises(MotionFailed, match=message):
            mc.wait_in_position(poll_s=0.0)


def test_wait_in_position_gives_up_after_its_timeout() -> None:
    with expected_protocol(MotionController, [("3MD?", "0")]) as mc:
        with pytest.raises(MotionTimeout, match=r"axis z still moving after 0\.0 s"):
            mc.wait_in_position(3, timeout_s=0.0)


def test_home_switches_the_motors_on_and_records_the_search() -> None:
    pairs = [
        ("2TP;2DP?;2MD?", "-7.25000,-7.25000,1"),
        (HOME_ALL, "0"),
        ("2MO;2OR;TE?", "0"),
        ("2MD?", "1"),
        ("2TP;2DP?;2MD?", "0.00000,0.00000,1"),
        ("2TP;2DP?;2MD?", "0.00000,0.00000,1"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        assert mc.homed(2) is False
        mc.home()
        mc.home(2, wait=True)
        assert mc.homed(2) is True
    with expected_protocol(MotionController, [(HOME_ALL, "330")]) as mc:
        with pytest.raises(MotionRefused, match="AXIS 3 COMMAND NOT ALLOWED DURING HOMING"):
            mc.home()


def test_a_home_search_stopped_short_is_not_home() -> None:
    pairs = [
        ("4OR;TE?", "0"),
        (ALL_AXES, "0.0,0.0,0.0,-12.0,0.0,0.0,0.0,-30.0,1,1,1,1"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        mc.start_homing(4)
        status = mc.status()
    assert status["rz_homed"] is False and status["rz_in_position"] is False


def test_soft_limits_are_set_in_an_order_the_controller_accepts() -> None:
    pairs = [
        ("1SL?;1SR?", "-50.00000,50.00000"),
        ("1SL-20.0;1SR20.0;TE?", "0"),
        ("1SL?;1SR?", "-20.00000,20.00000"),
        ("1SR80.0;1SL60.0;TE?", "0"),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        mc.set_soft_limits(1, -20, 20)
        mc.set_soft_limits(1, 60, 80)
    with expected_protocol(MotionController, []) as mc:
        with pytest.raises(OutsideLimits, match="below the upper limit"):
            mc.set_soft_limits(1, 5, 5)


def test_housekeeping_and_status_are_one_exchange_each() -> None:
    moving = "0.00000,1.50000,0.00000,90.00000,0.00000,8.00000,0.00000,90.00000,1,0,1,1"
    pairs = [
        ("1MO;1OR;TE?", "0"),
        (ALL_AXES, AT_REST),
        ("3MO;3OR;TE?", "0"),
        ("4MO;4OR;TE?", "0"),
        (ALL_AXES, moving),
    ]
    with expected_protocol(MotionController, pairs) as mc:
        mc.home(1)
        hk = mc.housekeeping()
        mc.home(3)
        mc.home(4)
        status = mc.status()
    assert hk["x_position"] == 12.5 and hk["rz_position"] == 30.0
    assert hk["x_homed"] is True and hk["x_in_position"] is True  # the search ended at 12.5
    assert hk["y_in_position"] is False and hk["z_homed"] is False
    assert len(hk) == 12
    assert status["y_moving"] is True and status["x_moving"] is False
    assert status["rz_in_position"] is True and status["z_homed"] is True
    assert status["y_position"] == 1.5 and status["y_homed"] is False
    assert len(status) == 16


def test_garbage_replies_raise_reply_errors() -> None:
    with expected_protocol(MotionController, [("1TP", "X=12.5")]) as mc:
        with pytest.raises(ReplyError, match=r"X=12\.5"):
            mc.position(1)
    with expected_protocol(MotionController, [("1MD?", "yes")]) as mc:
        with pytest.raises(ReplyError, match="0 or 1"):
            mc.motion_done(1)
    with expected_protocol(MotionController, [(ALL_AXES, "1.0,2.0")]) as mc:
        with pytest.raises(ReplyError, match="expected 12 values"):
            mc.housekeeping()
    with expected_protocol(MotionController, [("TB?", "107, NEGATIVE SOFTWARE LIMIT")]) as mc:
        with pytest.raises(ReplyError, match="code, timestamp, message"):
            mc.error_message()


def test_every_housekeeping_name_is_in_the_telemetry_dictionary() -> None:
    with expected_protocol(MotionController, [(ALL_AXES, AT_REST)]) as mc:
        hk = mc.housekeeping()
    dictionary = shipped_dictionary()
    assert set(hk) == {p.original for p in dictionary.parameters("MOTION")}
    assert dictionary.parameter("MOTION_X_POSITION").unit == "mm"
    assert dictionary.parameter("MOTION_RZ_POSITION").unit == "deg"
    sample = TelemetryPipeline(dictionary, "MOTION", "LAB")("motion", 1.0, hk)
    assert "_limits" not in sample  # the stages at power-up raise no alarm
    assert sample["MOTION_Y_POSITION"] == -7.25
