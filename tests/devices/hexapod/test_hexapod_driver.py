"""The hexapod driver, tested by replaying the PMAC lines it sends and the controller's replies."""

from __future__ import annotations

from typing import Any

import pytest

from controlroom.device import ArgumentError, Interrupted
from controlroom.devices.hexapod import (
    HexapodController,
    HexapodRefused,
    MotionFailed,
    OutsideLimits,
    PmacRefused,
)
from controlroom.devices.hexapod.state import SAMPLE_QUERY
from controlroom.telemetry import TelemetryPipeline, shipped_dictionary
from controlroom.testing import expected_protocol

DONE = [("&2 Q20", "0\r")]
ENABLED = [("&2 Q20=34", ""), *DONE, ("&2 Q80,2,1", "1\r1\r")]
USER_LIMITS = [
    ("&2 Q20=33", ""),
    *DONE,
    ("&2 Q80,12,1", "-50\r-50\r-20\r-15\r-15\r-30\r50\r50\r20\r15\r15\r30\r"),
]
AT_REST = ("&2 Q36 Q26,3,1", "30\r2\r3\r0\r")  # initialized, in position, control on, homed
MOVING = ("&2 Q36 Q26,3,1", "26\r2\r2\r0\r")
HK_REPLY = "0\r0\r-18\r0\r0\r0\r" + "221.732696\r" * 6 + "34\r0\r0\r0\r0\r"


def _move_line(mode: int, *values: float) -> str:
    targets = " ".join(f"Q{71 + n}={v:.6f}" for n, v in enumerate(values))
    return f"&2 Q70={mode} {targets} Q20=11"


def test_positions_lengths_and_versions_are_q_variables() -> None:
    pairs = [
        ("VERSION", "1.947\r"),
        ("&2 Q20=55", ""),
        *DONE,
        ("&2 Q80,4,1", "3\r1\r0\r4\r"),
        ("&2 Q53,6,1", "1.5\r0\r-2\r0\r0.25\r-30\r"),
        ("&2 Q47,6,1", "0\r0\r0\r0\r0\r0\r"),
        ("&2 Q41,6,1", "238.246487\r" * 6),
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        assert hc.firmware() == 1.947
        assert hc.version() == "3.1.0.4"
        assert hc.get_user_positions() == {
            "x": 1.5, "y": 0.0, "z": -2.0, "rx": 0.0, "ry": 0.25, "rz": -30.0,
        }  # fmt: skip
        assert hc.get_machine_positions()["z"] == 0.0
        assert hc.get_actuator_lengths() == [238.246487] * 6


def test_the_state_word_is_decoded_to_named_flags() -> None:
    pairs = [
        ("&2 Q36 Q26,3,1", "26\r1\r0\r0\r"),
        ("&2 Q26", "2\r"),
        ("&2 Q36 Q26,2,1", "30\r2\r3\r"),
        ("&2 Q36 Q26,2,1", "26\r2\r2\r"),
        ("&2 Q38 Q36 Q28", "26\r291\r2\r"),
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        state = hc.get_general_state()
        assert state["control_on"] and state["homing_done"] and state["initialized"]
        assert not state["in_position"] and not state["error"]
        assert state["in_motion"] and state["homing_running"] and state["homing"] == "in progress"
        assert state["word"] == 26
        assert hc.is_homing_done() is True
        assert hc.is_in_position() is True
        assert hc.is_in_position() is False  # a move is under way
        error = hc.get_error()
    assert error["code"] == 26 and "following error" in error["message"]
    assert error["faults"] == ["following_error"]
    assert error["kinematic"].startswith("inverse kinematic model")


def test_a_command_waits_for_the_controller_to_run_it() -> None:
    pairs = [
        ("&2 Q20=3", ""),
        ("&2 Q20", "3\r"),  # the PLC has not picked it up yet
        ("&2 Q20", "0\r"),
        ("&2 Q20=2", ""),
        *DONE,
        ("&2 Q20=15", ""),
        *DONE,
        ("&2 Q80=2.000000 Q81=1.500000 Q20=25", ""),
        *DONE,
        ("&2 Q20=35", ""),
        *DONE,
        ("&2 Q80,6,1", "2\r1.5\r0.01\r0.001\r4\r2\r"),
        ("&2 Q80=1.000000 Q81=0.000000 Q20=24", ""),
        *DONE,
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        hc.activate_control_loop()
        hc.stop()
        hc.clear_error()
        hc.set_speed(2.0, 1.5)
        speed = hc.get_speed()
        hc.set_limits_enabled(True, False)
    assert speed["translation"] == 2.0 and speed["rotation_max"] == 2.0


def test_an_ignored_command_says_why() -> None:
    pairs = [
        ("&2 Q20=3", ""),
        ("&2 Q20", "-1\r"),
        ("&2 Q36 Q26,3,1", "291\r2\r4\r0\r"),  # an error is latched
        ("&2 Q80=9.000000 Q81=1.000000 Q20=25", ""),
        ("&2 Q20", "-1\r"),
        ("&2 Q36 Q26,3,1", "30\r2\r3\r0\r"),
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        with pytest.raises(HexapodRefused, match="an error is latched") as caught:
            hc.activate_control_loop()
        assert caught.value.code == -1
        with pytest.raises(HexapodRefused, match="outside the controller's range"):
            hc.set_speed(9.0, 1.0)


def test_coordinate_systems_and_limits_go_to_q80_on() -> None:
    cs = (0.033, -0.238, 230.205, 0.003282, 0.005671, 0.01393, 0, 0, 0, 0, 0, 0)
    cs_line = " ".join(f"Q{80 + n}={v:.6f}" for n, v in enumerate(cs))
    limits = (-10, -10, -5, -1, -1, -2, 10, 10, 5, 1, 1, 2)
    limits_line = " ".join(f"Q{80 + n}={v:.6f}" for n, v in enumerate(limits))
    pairs = [
        (f"&2 {cs_line} Q20=21", ""),
        *DONE,
        ("&2 Q20=31", ""),
        *DONE,
        ("&2 Q80,12,1", "0.033\r-0.238\r230.205\r0.003282\r0.005671\r0.01393\r" + "0\r" * 6),
        (f"&2 {limits_line} Q20=23", ""),
        *DONE,
        *USER_LIMITS,
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        hc.configure_coordinate_systems(*cs)
        frames = hc.get_coordinate_systems()
        hc.set_user_limits(*limits)
        assert hc.get_user_limits()["z"] == [-20.0, 20.0]
        with pytest.raises(ArgumentError, match="rz: the lower limit 3 is not below"):
            hc.set_machine_limits(-10, -10, -5, -1, -1, 3, 10, 10, 5, 1, 1, 2)  # nothing sent
    assert frames["user"]["z"] == 230.205 and frames["object"] == dict.fromkeys(frames["object"], 0)


def test_a_move_is_checked_against_the_user_limits_then_sent() -> None:
    pairs = [
        *ENABLED,
        *USER_LIMITS,
        (_move_line(0, 1, 2, 3, 0, 0, 0.5), ""),
        ("&2 Q20", "11\r"),
        *DONE,
        *ENABLED,
        *USER_LIMITS,  # z 25 is out: nothing more is sent
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        assert hc.move_absolute(1, 2, 3, 0, 0, 0.5) is None
        with pytest.raises(
            OutsideLimits, match="z: 25 mm is above the upper user workspace limit 20"
        ):
            hc.move_absolute(0, 0, 25, 0, 0, 0)


def test_a_relative_move_is_checked_where_it_ends() -> None:
    here = "40\r0\r0\r0\r0\r10\r"
    pairs = [
        ("&2 Q53,6,1", here),
        *ENABLED,
        *USER_LIMITS,
        (_move_line(2, 5, 0, 0, 0, 0, 5), ""),
        *DONE,
        ("&2 Q53,6,1", here),
        *ENABLED,
        *USER_LIMITS,
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        hc.move_relative_user(5, 0, 0, 0, 0, 5)
        with pytest.raises(OutsideLimits, match="rz: 35 deg is above"):
            hc.move_relative_object(0, 0, 0, 0, 0, 25)


def test_a_move_the_controller_finds_not_feasible_says_why() -> None:
    validate = _move_line(0, 50, 0, 20, 0, 0, 0).replace("Q20=11", "Q20=10")
    pairs = [
        *ENABLED,
        *USER_LIMITS,
        (_move_line(0, 50, 0, 20, 0, 0, 0), ""),
        ("&2 Q20", "-2\r"),
        (validate, ""),
        *DONE,
        ("&2 Q29", "64\r"),
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        with pytest.raises(HexapodRefused, match="an actuator out of its stroke") as caught:
            hc.move_absolute(50, 0, 20, 0, 0, 0)
    assert caught.value.code == -2


def test_check_absolute_movement_moves_nothing_and_gives_the_reasons() -> None:
    validate = _move_line(0, 60, 0, 0, 0, 0, 0).replace("Q20=11", "Q20=10")
    pairs = [*ENABLED, *USER_LIMITS, (validate, ""), *DONE, ("&2 Q29", "56\r")]
    with expected_protocol(HexapodController, pairs) as hc:
        found = hc.check_absolute_movement(60, 0, 0, 0, 0, 0)
    assert found["valid"] is False and found["code"] == 56
    assert found["reasons"][0] == "x: 60 mm is above the upper user workspace limit 50 mm"
    assert "out of the factory workspace" in found["reasons"]


def test_waiting_polls_the_state_until_the_platform_rests() -> None:
    pairs = [
        ("&2 Q20=1", ""),
        *DONE,
        ("&2 Q36 Q26,3,1", "10\r1\r0\r0\r"),
        AT_REST,
        *ENABLED,
        *USER_LIMITS,
        (_move_line(0, 1, 0, 0, 0, 0, 0), ""),
        *DONE,
        MOVING,
        AT_REST,
        ("&2 Q53,6,1", "1\r0\r0\r0\r0\r0\r"),
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        hc.homing(wait=True)
        assert hc.move_absolute(1, 0, 0, 0, 0, 0, wait=True) == {
            "x": 1.0, "y": 0.0, "z": 0.0, "rx": 0.0, "ry": 0.0, "rz": 0.0,
        }  # fmt: skip


def test_a_wait_that_ends_off_target_fails_and_a_stop_interrupts_it() -> None:
    pairs = [
        ("&2 Q36 Q26,3,1", "26\r2\r0\r0\r"),  # at rest, stopped short: position not reached
        ("&2 Q38 Q36 Q28", "0\r26\r0\r"),
        MOVING,
    ]
    with expected_protocol(HexapodController, pairs) as hc:
        with pytest.raises(MotionFailed, match="positioning undefined"):
            hc.wait_in_position()
        watch_source = hc.interruption
        watch_source.signal("stop")  # one that came before the wait does not end it...
        original = watch_source.watch

        def tripped() -> Any:
            opened = original()
            watch_source.signal("stop")  # ...one that comes while it waits does
            return opened

        watch_source.watch = tripped  # type: ignore[method-assign]
        with pytest.raises(Interrupted, match="interrupted by stop"):
            hc.wait_in_position()


def test_the_pmac_refusing_a_line_raises() -> None:
    with expected_protocol(HexapodController, [("&2 Q53,6,1", "\x07ERR003\r")]) as hc:
        with pytest.raises(PmacRefused, match="ERR003") as caught:
            hc.get_user_positions()
    assert caught.value.code == 3


def test_housekeeping_is_one_exchange_and_known_to_the_dictionary() -> None:
    with expected_protocol(HexapodController, [(SAMPLE_QUERY, HK_REPLY)] * 2) as hc:
        hk = hc.housekeeping()
        status = hc.status()
    assert hk["user_z"] == -18.0 and hk["length_6"] == 221.732696
    assert hk["homed"] is False and hk["moving"] is False and hk["error_code"] == 0
    assert status["control_on"] is False and status["error"] is False
    dictionary = shipped_dictionary()
    assert set(hk) == {p.original for p in dictionary.parameters("HEXAPOD")}
    assert dictionary.parameter("HEXAPOD_USER_RZ").unit == "deg"
    sample = TelemetryPipeline(dictionary, "HEXAPOD", "LAB")("hexapod", 1.0, hk)
    assert "_limits" not in sample  # the hexapod at power-up raises no alarm
    assert sample["HEXAPOD_LENGTH_1"] == 221.732696
