"""The Model 336 command set of the simulator, driven through handle_line and a fake clock."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from controlroom.devices.tempctl.sim.control_loop import HeaterFault
from controlroom.devices.tempctl.sim.sensor_curves import pt100_ohms
from controlroom.devices.tempctl.sim.server import MAX_CATCH_UP_S, LakeShore336Simulator, main

READING = r"[+-]\d+\.\d+"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> LakeShore336Simulator:
    return LakeShore336Simulator(clock=clock)


def esr(sim: LakeShore336Simulator) -> int:
    reply = sim.handle_line("*ESR?")
    assert reply is not None
    return int(reply)


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("*IDN?", r"LSCI,MODEL336,SIM3360/0000000,2\.9"),
        ("KRDG? A", r"\+77\.\d{4}"),
        ("KRDG? 0", ",".join([READING] * 4)),
        ("CRDG? D", r"\+15\.\d{4}"),
        ("SRDG? A", r"\+1\.0\d{4}"),  # DT-670 volts near 78 K
        ("SRDG? C", r"\+2\d\.\d{4}"),  # Pt100 ohms near 96 K
        ("RDGST? B", "0"),
        ("SETP? 1", r"\+0\.00000"),
        ("RANGE? 2", "0"),
        ("HTR? 1", r"\+000\.0"),
        ("HTRST? 2", "0"),
        ("MOUT? 1", r"\+000\.00"),
        ("OUTMODE? 1", "1,1,0"),
        ("OUTMODE? 2", "1,2,0"),
        ("PID? 1", r"\+0050\.0,\+0020\.0,\+000\.0"),
        ("RAMP? 2", r"0,\+010\.0"),
        ("RAMPST? 1", "0"),
        ("INNAME? A", "Sample stage"),
        ("INTYPE? A", "1,0,0,0,1"),
        ("INTYPE? D", "2,1,0,1,1"),
        ("INCRV? A", "2"),
        ("HTRSET? 1", r"2,2,\+0\.000,1"),
        ("MODE?", "0"),
        ("*ESE?", "0"),
        ("*SRE?", "0"),
        ("*STB?", "0"),
        ("*OPC?", "1"),
        ("*TST?", "0"),
        ("*ESR?", "0"),
    ],
)
def test_query_reply_formats(sim: LakeShore336Simulator, query: str, pattern: str) -> None:
    reply = sim.handle_line(query)
    assert reply is not None
    assert re.fullmatch(pattern, reply), reply
    assert esr(sim) == 0


def test_readings_have_six_significant_digits(sim: LakeShore336Simulator) -> None:
    sim.handle_line("SETP 1,4.2;SETP 2,293.15")
    assert sim.handle_line("SETP? 1;SETP? 2") == "+4.20000;+293.150"


def test_all_inputs_reading_matches_single_readings(sim: LakeShore336Simulator) -> None:
    singles = [sim.handle_line(f"KRDG? {name}") for name in "ABCD"]
    assert sim.handle_line("KRDG? 0") == ",".join(str(s) for s in singles)


def test_compound_lines_run_in_order_and_join_replies(sim: LakeShore336Simulator) -> None:
    reply = sim.handle_line("SETP 1,100;SETP? 1;:RANGE 1,2;RANGE? 1;*ESR?")
    assert reply == "+100.000;2;0"


def test_commands_are_case_insensitive(sim: LakeShore336Simulator) -> None:
    assert sim.handle_line("setp 2,50.5;setp? 2;krdg? b") is not None
    assert sim.handle_line("SETP? 2") == "+50.5000"
    assert esr(sim) == 0


@pytest.mark.parametrize("bad", ["FOO", "KRDG?", "SETP 1", "SETP 1,abc", "RANGE 1,2,3", "42"])
def test_bad_command_sets_cme_and_gives_no_reply(sim: LakeShore336Simulator, bad: str) -> None:
    assert sim.handle_line(bad) is None
    assert esr(sim) == 32
    assert esr(sim) == 0  # reading clears the register


def test_failed_query_in_a_compound_line_only_drops_its_reply(sim: LakeShore336Simulator) -> None:
    assert sim.handle_line("RANGE? 1;BOGUS?;RANGE? 2;*ESR?") == "0;0;32"


def test_cls_clears_the_event_register(sim: LakeShore336Simulator) -> None:
    sim.handle_line("FOO;SETP 9,1")
    sim.handle_line("*CLS")
    assert esr(sim) == 0


@pytest.mark.parametrize(
    ("command", "query"),
    [
        ("SETP 1,600", "SETP? 1"),  # above the DT-670 curve
        ("SETP 1,-5", "SETP? 1"),
        ("SETP 3,10", "SETP? 1"),  # no analog outputs on the simulator
        ("RANGE 1,4", "RANGE? 1"),
        ("MOUT 1,100.5", "MOUT? 1"),
        ("OUTMODE 1,4,1,0", "OUTMODE? 1"),
        ("OUTMODE 1,3,5,0", "OUTMODE? 1"),
        ("OUTMODE 1,3,1,2", "OUTMODE? 1"),
        ("PID 1,0,20,0", "PID? 1"),
        ("PID 1,50,20,201", "PID? 1"),
        ("RAMP 1,1,100.1", "RAMP? 1"),
        ("RAMP 1,1,0.05", "RAMP? 1"),
        ("RAMP 1,2,10", "RAMP? 1"),
        ("INTYPE A,4,0,0,0,1", "INTYPE? A"),  # thermocouples need the 3060 card
        ("INTYPE A,1,0,2,0,1", "INTYPE? A"),
        ("INTYPE E,1,0,0,0,1", "INTYPE? A"),
        ("HTRSET 2,1,4,0,1", "HTRSET? 2"),  # 2 A only on output 1
        ("HTRSET 1,2,3,0,1", "HTRSET? 1"),  # 50 ohm caps at 1 A
        ("HTRSET 1,2,0,0,1", "HTRSET? 1"),  # user current of 0 A
        ("*ESE 256", "*ESE?"),
        ("MODE 3", "MODE?"),
    ],
)
def test_out_of_range_parameters_set_exe_and_change_nothing(
    sim: LakeShore336Simulator, command: str, query: str
) -> None:
    before = sim.handle_line(query)
    assert sim.handle_line(command) is None
    assert esr(sim) == 16
    assert sim.handle_line(query) == before


def test_setters_are_read_back(sim: LakeShore336Simulator) -> None:
    sim.handle_line(
        "RANGE 2,1;MOUT 2,12.5;OUTMODE 2,3,3,1;PID 2,120.5,33,50;RAMP 2,1,2.5;"
        'INNAME B,"Cold finger";HTRSET 1,1,4,0,2;*ESE 48;*SRE 32;MODE 1'
    )
    assert esr(sim) == 0
    replies = sim.handle_line(
        "RANGE? 2;MOUT? 2;OUTMODE? 2;PID? 2;RAMP? 2;INNAME? B;HTRSET? 1;*ESE?;*SRE?;MODE?"
    )
    assert replies == (
        "1;+012.50;3,3,1;+0120.5,+0033.0,+050.0;1,+002.5;Cold finger;1,4,+0.000,2;48;32;1"
    )


def test_names_are_limited_to_15_characters_and_may_hold_separators(
    sim: LakeShore336Simulator,
) -> None:
    sim.handle_line('INNAME C,"Shield; top, left side"')
    assert sim.handle_line("INNAME? C") == "Shield; top, le"


def test_event_status_shows_in_the_status_byte(sim: LakeShore336Simulator) -> None:
    sim.handle_line("*ESE 32;*SRE 32")
    sim.handle_line("NOPE")
    assert sim.handle_line("*STB?") == str(32 | 64)
    sim.handle_line("*ESR?")
    assert sim.handle_line("*STB?") == "0"


def test_opc_sets_operation_complete(sim: LakeShore336Simulator) -> None:
    sim.handle_line("*OPC")
    assert esr(sim) == 1


def test_rst_restores_defaults(sim: LakeShore336Simulator) -> None:
    defaults = sim.handle_line("SETP? 1;RANGE? 1;PID? 1;RAMP? 1;OUTMODE? 2;INTYPE? A;INNAME? A")
    sim.handle_line(
        "SETP 1,90;RANGE 1,3;PID 1,10,10,10;RAMP 1,1,1;OUTMODE 2,0,0,0;"
        'INTYPE A,2,1,0,1,2;INNAME A,"x"'
    )
    assert sim.handle_line("SETP? 1;RANGE? 1") != defaults
    sim.handle_line("*RST")
    assert sim.handle_line("SETP? 1;RANGE? 1;PID? 1;RAMP? 1;OUTMODE? 2;INTYPE? A;INNAME? A") == (
        defaults
    )


def test_rst_keeps_outputs_with_powerup_enable(sim: LakeShore336Simulator) -> None:
    sim.handle_line("OUTMODE 1,3,2,1;RANGE 1,2;SETP 1,90;PID 1,10,10,10")
    sim.handle_line("*RST")
    assert sim.handle_line("OUTMODE? 1;RANGE? 1;SETP? 1;PID? 1") == (
        "3,2,1;2;+90.0000;+0050.0,+0020.0,+000.0"
    )


def test_setpoint_change_drives_the_temperature(
    sim: LakeShore336Simulator, clock: FakeClock
) -> None:
    sim.handle_line("SETP 1,110;RANGE 1,3")
    clock.advance(1.0)
    assert float(sim.handle_line("HTR? 1") or 0) == 100.0  # 32 K below setpoint: saturated
    clock.advance(599.0)
    assert float(sim.handle_line("KRDG? A") or 0) == pytest.approx(110.0, abs=0.05)
    assert 0.0 < float(sim.handle_line("HTR? 1") or 0) < 100.0
    assert float(sim.handle_line("KRDG? B") or 0) < 80.0  # the other stage is not heated


def test_ramp_status_follows_the_ramp(sim: LakeShore336Simulator, clock: FakeClock) -> None:
    sim.handle_line("SETP 1,80;RANGE 1,3;RAMP 1,1,10;SETP 1,100")
    clock.advance(60.0)
    assert sim.handle_line("RAMPST? 1;SETP? 1") == "1;+90.0000"
    clock.advance(61.0)
    assert sim.handle_line("RAMPST? 1;SETP? 1") == "0;+100.000"


def test_speed_makes_simulated_time_run_faster(clock: FakeClock) -> None:
    fast = LakeShore336Simulator(clock=clock, speed=10.0)
    clock.advance(6.0)
    fast.handle_line("*OPC?")
    assert fast.model.elapsed == pytest.approx(60.0)


def test_a_huge_clock_jump_is_capped(sim: LakeShore336Simulator, clock: FakeClock) -> None:
    clock.advance(10 * MAX_CATCH_UP_S)
    sim.handle_line("*OPC?")
    assert sim.model.elapsed == pytest.approx(MAX_CATCH_UP_S)


def test_celsius_units_apply_to_the_setpoint(sim: LakeShore336Simulator) -> None:
    sim.handle_line("INTYPE A,1,0,0,0,2;SETP 1,-173.15")
    assert sim.handle_line("SETP? 1") == "-173.150"
    assert sim.model.loops[1].target == pytest.approx(100.0)


def test_input_type_changes_the_sensor_units(sim: LakeShore336Simulator) -> None:
    sim.handle_line("INTYPE A,2,1,0,1,1")
    assert sim.handle_line("INCRV? A") == "6"
    ohms = pt100_ohms(sim.model.temperature("A"))
    assert float(sim.handle_line("SRDG? A") or 0) == pytest.approx(ohms, abs=0.01)
    sim.handle_line("INTYPE A,0,0,0,0,1")
    assert sim.handle_line("KRDG? A;SRDG? A;RDGST? A;INCRV? A") == "+0.00000;+0.00000;0;0"


def test_heater_power_display_reports_percent_of_power(
    sim: LakeShore336Simulator, clock: FakeClock
) -> None:
    sim.handle_line("OUTMODE 1,3,1,0;MOUT 1,50;RANGE 1,1")
    clock.advance(0.1)
    assert sim.handle_line("HTR? 1") == "+050.0"
    sim.handle_line("HTRSET 1,2,2,0,2")
    assert sim.handle_line("HTR? 1") == "+025.0"


def test_open_loop_and_off_modes(sim: LakeShore336Simulator, clock: FakeClock) -> None:
    sim.handle_line("OUTMODE 2,3,2,0;MOUT 2,40;RANGE 2,2")
    clock.advance(60.0)
    assert sim.handle_line("HTR? 2") == "+040.0"
    sim.handle_line("OUTMODE 2,0,2,0")
    clock.advance(0.1)
    assert sim.handle_line("HTR? 2") == "+000.0"


def test_heater_fault_is_reported_and_stops_heating(
    sim: LakeShore336Simulator, clock: FakeClock
) -> None:
    sim.handle_line("SETP 1,150;RANGE 1,3")
    clock.advance(10.0)
    sim.set_heater_fault(1, HeaterFault.OPEN_LOAD)
    warm = float(sim.handle_line("KRDG? A") or 0)
    clock.advance(60.0)
    assert sim.handle_line("HTRST? 1;HTR? 1") == "1;+000.0"
    assert float(sim.handle_line("KRDG? A") or 0) < warm
    sim.set_heater_fault(1, HeaterFault.NONE)
    assert sim.handle_line("HTRST? 1") == "0"


def test_disconnected_sensor_reads_zero_with_status(sim: LakeShore336Simulator) -> None:
    sim.set_sensor_disconnected("c")
    assert sim.handle_line("KRDG? C;CRDG? C;SRDG? C;RDGST? C") == "+0.00000;+0.00000;+0.00000;128"
    assert sim.handle_line("KRDG? 0").split(",")[2] == "+0.00000"  # type: ignore[union-attr]
    sim.set_sensor_disconnected("C", False)
    assert sim.handle_line("RDGST? C") == "0"


def test_empty_and_blank_lines_are_ignored(sim: LakeShore336Simulator) -> None:
    assert sim.handle_line("") is None
    assert sim.handle_line(" ; ") is None
    assert esr(sim) == 0


def test_handle_line_is_thread_safe(sim: LakeShore336Simulator, clock: FakeClock) -> None:
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(200):
                assert sim.handle_line("SETP 1,100;SETP? 1") == "+100.000"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_serves_over_tcp_with_crlf_replies(clock: FakeClock) -> None:
    with (
        LakeShore336Simulator(clock=clock) as sim,
        socket.create_connection(("127.0.0.1", sim.port), timeout=5.0) as conn,
    ):
        conn.sendall(b"\n*IDN?;RANGE? 1\n")  # Lake Shore's own driver opens with a bare \n
        data = b""
        while not data.endswith(b"\r\n"):
            data += conn.recv(1024)
    assert data == b"LSCI,MODEL336,SIM3360/0000000,2.9;0\r\n"


def test_main_rejects_a_bad_speed() -> None:
    with pytest.raises(SystemExit):
        main(["--speed", "0"])
