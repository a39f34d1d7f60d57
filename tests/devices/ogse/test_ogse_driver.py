"""The OGSE driver, tested by replaying command/response pairs (no socket, no simulator)."""

from __future__ import annotations

import math

import pytest

from controlroom.device import ArgumentError, CommandRefused, ReplyError
from controlroom.devices.ogse import Interlock, OGSEController
from controlroom.testing import expected_protocol

STATUS = (
    "power: ON, psu: ON, operate: ON, laser: ON, lamp: ON, interlock: CLOSE, "
    "att: * 1.00E-02 #20, power-ch1: +1.954040e-08 W, power-ch2: +2.153776e-07 W, "
    "temp-ch1: +22.1 C, temp-ch2: +24.4 C"
)


def test_switch_and_fault_states() -> None:
    pairs = [
        ("get interlock", "interlock: OPEN"),
        ("get interlock", "interlock: CLOSE"),
        ("get power", "power: ON"),
        ("get lamp", "lamp: OFF"),
        ("get laser", "laser: ON"),
        ("get lamp-fault", "lamp-fault: ERROR"),
        ("get controller-fault", "controller-fault: NO-ERROR"),
        ("get psu", "psu: OFF"),
        ("get operate", "operate: ON"),
    ]
    with expected_protocol(OGSEController, pairs) as ogse:
        assert ogse.get_interlock() is Interlock.OPEN
        assert ogse.get_interlock() == "CLOSE"
        assert ogse.get_power() is True
        assert ogse.get_lamp() is False
        assert ogse.get_laser() is True
        assert ogse.get_lamp_fault() is True
        assert ogse.get_controller_fault() is False
        assert ogse.get_psu() is False
        assert ogse.get_operate() is True


def test_flags_are_decoded_by_name() -> None:
    with expected_protocol(OGSEController, [("get flags", "flags: 0x67  0110 0111")]) as ogse:
        flags = ogse.get_flags()
    assert flags["value"] == 0x67
    assert flags["power"] and flags["psu"] and flags["operate"]
    assert not flags["laser"] and not flags["lamp"]
    assert flags["interlock_open"] and flags["lamp_fault"] and not flags["controller_fault"]


def test_power_meters_and_connection_states() -> None:
    pairs = [
        ("read", "pm1: +2.231652e-10 W +22.5 C, pm2: +nan W +nan C"),
        ("ldls status", "ldls: OK"),
        ("pm status", "pm1: OK, pm2: ERROR"),
        ("att status", "att: ERROR"),
        ("version", "OGSE controller v2.1"),
    ]
    with expected_protocol(OGSEController, pairs) as ogse:
        meters = ogse.get_power_and_temperature()
        assert meters["pm1_power"] == 2.231652e-10 and meters["pm1_temp"] == 22.5
        assert math.isnan(meters["pm2_power"]) and math.isnan(meters["pm2_temp"])
        assert ogse.ldls_status() is True
        assert ogse.pm_status() == {"pm1": True, "pm2": False}
        assert ogse.att_status() is False
        assert ogse.version() == "OGSE controller v2.1"


def test_attenuator_commands() -> None:
    pairs = [
        ("level", "att-level: * 1.00E-02 #20"),
        ("level", "att-level: 1.00E+00 #0"),
        ("level #12", "OK"),
        ("level 1.000e-02", "OK"),
        ("level 0.000e+00", "OK"),
        ("level 3 5", "OK"),
        ("level up", "OK"),
        ("level down", "OK"),
    ]
    with expected_protocol(OGSEController, pairs) as ogse:
        assert ogse.att_get_level() == {"att_moving": True, "att_factor": 0.01, "att_index": 20}
        assert ogse.att_get_level() == {"att_moving": False, "att_factor": 1.0, "att_index": 0}
        assert ogse.att_set_level_index(12) is None
        ogse.att_set_level_factor(0.01)
        ogse.att_set_level_factor(0)
        ogse.att_set_level_position(3, 5)
        ogse.att_level_up()
        ogse.att_level_down()


def test_switching_commands() -> None:
    pairs = [
        ("power on", "OK"),
        ("operate on", "OK"),
        ("operate off", "OK"),
        ("power off", "OK"),
        ("reset", "OK"),
    ]
    with expected_protocol(OGSEController, pairs) as ogse:
        ogse.power_on()
        ogse.operate_on()
        ogse.operate_off()
        ogse.power_off()
        ogse.reset()


def test_status_housekeeping_and_display_values() -> None:
    pairs = [("status", STATUS), ("status", STATUS), ("get flags", "flags: 0x1f  0001 1111")]
    with expected_protocol(OGSEController, pairs) as ogse:
        status = ogse.status()
        hk = ogse.housekeeping()
    assert status["lamp_on"] and status["laser_on"] and not status["interlock_open"]
    assert status["att_factor"] == 0.01 and status["att_index"] == 20 and status["att_moving"]
    assert status["pm1_power"] == 1.954040e-08 and status["pm2_temp"] == 24.4
    assert hk == {**status, "lamp_fault": False, "controller_fault": False, "flags": 0x1F}


def test_refusals_raise_command_refused() -> None:
    pairs = [
        ("operate on", "ERROR: interlock is open"),
        ("get lamp", "ERROR: unknown command string: get lamp"),
    ]
    with expected_protocol(OGSEController, pairs) as ogse:
        with pytest.raises(CommandRefused, match="interlock is open"):
            ogse.operate_on()
        with pytest.raises(CommandRefused, match="unknown command"):
            ogse.get_lamp()


def test_bad_arguments_never_reach_the_controller() -> None:
    with expected_protocol(OGSEController, []) as ogse:
        with pytest.raises(ArgumentError):
            ogse.att_set_level_index(47)
        with pytest.raises(ArgumentError):
            ogse.att_set_level_index(-1)
        with pytest.raises(ArgumentError):
            ogse.att_set_level_factor(1.5)
        with pytest.raises(ArgumentError):
            ogse.att_set_level_position(0, 3)
        with pytest.raises(ArgumentError):
            ogse.att_set_level_position(1, 9)


@pytest.mark.parametrize(
    ("method", "sent", "reply"),
    [
        ("get_lamp", "get lamp", "laser: ON"),
        ("get_lamp", "get lamp", "lamp: MAYBE"),
        ("get_interlock", "get interlock", "interlock: AJAR"),
        ("get_flags", "get flags", "flags: none"),
        ("att_get_level", "level", "att-level: one"),
        ("get_power_and_temperature", "read", "pm1: +1e-9 W +22 C"),
        ("get_power_and_temperature", "read", "pm1: 1 mW, pm2: 2 mW"),
        ("read_status", "status", "power: ON"),
        ("power_on", "power on", "DONE"),
    ],
)
def test_garbage_replies_raise_reply_errors(method: str, sent: str, reply: str) -> None:
    with expected_protocol(OGSEController, [(sent, reply)]) as ogse:
        with pytest.raises(ReplyError, match=r"OGSE|expected"):
            getattr(ogse, method)()


def test_every_command_of_the_table_is_declared() -> None:
    expected = {
        "read_status",
        "get_interlock",
        "get_power",
        "get_lamp",
        "get_laser",
        "get_lamp_fault",
        "get_controller_fault",
        "get_psu",
        "get_operate",
        "get_flags",
        "get_power_and_temperature",
        "ldls_status",
        "pm_status",
        "att_get_level",
        "att_status",
        "att_set_level_index",
        "att_set_level_factor",
        "att_set_level_position",
        "att_level_up",
        "att_level_down",
        "version",
        "power_on",
        "power_off",
        "operate_on",
        "operate_off",
        "reset",
    }
    assert set(OGSEController.commands()) == expected
    changing = {n for n, spec in OGSEController.commands().items() if spec.changes_device}
    assert changing == {
        "att_set_level_index",
        "att_set_level_factor",
        "att_set_level_position",
        "att_level_up",
        "att_level_down",
        "power_on",
        "power_off",
        "operate_on",
        "operate_off",
        "reset",
    }


def test_laser_off_and_power_off_run_even_while_another_command_is_in_progress() -> None:
    interrupting = {name for name, spec in OGSEController.commands().items() if spec.interrupts}
    assert interrupting == {"operate_off", "power_off"}
