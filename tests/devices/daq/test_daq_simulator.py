"""The DAQ simulator's command set, scan timing and physics, through handle_line and TCP."""

from __future__ import annotations

import itertools
import socket
import statistics
import threading
from typing import Any

import pytest

from controlroom.devices.daq.sim.events import QUEUE_DEPTH
from controlroom.devices.daq.sim.server import COMMAND_S, DaqSimulator, main
from controlroom.devices.daq.sim.state import SWITCH_S
from controlroom.testing.simulators import LineClient, SimulatorProcess

OK = '0,"No error;0;0 0"'
OVERFLOW = "9.900000000E+37"


class FakeClock:
    """Seconds that move only when the simulator sleeps or the test says so."""

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
def sim(clock: FakeClock) -> DaqSimulator:
    return DaqSimulator(clock=clock, sleep=clock.advance)


def ask(sim: DaqSimulator, line: str) -> str:
    reply = sim.handle_line(line)
    assert reply is not None, f"no reply to {line!r}: {sim.handle_line('SYST:ERR?')}"
    return reply


SCAN = 'TRAC:CLE;:INIT;*WAI;:TRAC:DATA? 1, {}, "defbuffer1", READ'


def readings(sim: DaqSimulator, line: str) -> list[float]:
    return [float(value) for value in ask(sim, line).split(",")]


def scan_seconds(sim: DaqSimulator, clock: FakeClock, channels: str, nplc: float) -> float:
    assert ask(sim, f'*RST;:SENS:FUNC "TEMP", {channels};:SYST:ERR?') == OK
    line = f"SENS:TEMP:NPLC {nplc}, {channels};:ROUT:SCAN:CRE {channels};:SYST:ERR?"
    assert ask(sim, line) == OK
    start = clock.now
    assert ask(sim, "INIT;*OPC?") == "1"
    return clock.now - start


@pytest.mark.parametrize(
    ("query", "reply"),
    [
        ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL DAQ6510,SIM06510,1.7.12b"),
        ("ROUT:SCAN?", "(@101:120,201:204)"),
        ("ROUTE:SCAN:CREATE?", "(@101:120,201:204)"),
        ("ROUT:SCAN:COUN:STEP?", "24"),
        ("ROUT:SCAN:COUN:SCAN?", "1"),
        ("ROUT:SCAN:INT?", "0"),
        ("ROUT:SCAN:BUFF?", "defbuffer1"),
        ("SENS:TEMP:NPLC? (@101,201)", "1,1"),
        ("TEMP:TRAN? (@120,201)", "TC,FRTD"),
        ("SENSE:TEMPERATURE:TCOUPLE:TYPE? (@104:105)", "K,T"),
        ("SENS:TEMP:UNIT? (@101)", "KELV"),
        ("SENS:TEMP:ODET? (@101,201)", "1,0"),
        ("SENS:TEMP:AZER? (@101);:SENS:TEMP:LINE:SYNC? (@101)", "1;0"),
        ("SENS:TEMP:TC:RJUN:RSEL? (@101);:SENS:TEMP:TC:RJUN:SIM? (@101)", "INT;23"),
        ("SENS1:FUNC? (@101,220)", "TEMP,NONE"),
        ("SYST:LFR?", "50"),
        ("SYST:CARD2:IDN?", "7700,20Ch Mux w/CJC,SIM06510-2,01.00"),
        ("*OPC?", "1"),
        ("*LANG?", "SCPI"),
        ("TRIG:STAT?", "IDLE;IDLE;0"),
        ("ROUT:SCAN:STAT?", "IDLE;0;0"),
        ("STAT:OPER:COND?", "0"),
        ('TRAC:ACT? "defbuffer1"', "0"),
        ("TRAC:POIN?", "100000"),
        ("FORM?", "ASC"),
        ("SYST:ERR?", OK),
        ("syst:err:next?", OK),
    ],
)
def test_power_on_state_and_reply_formats(sim: DaqSimulator, query: str, reply: str) -> None:
    assert ask(sim, query) == reply


def test_a_scan_takes_channels_times_the_integration_time(
    sim: DaqSimulator, clock: FakeClock
) -> None:
    ten = scan_seconds(sim, clock, "(@101:110)", 1)
    twenty = scan_seconds(sim, clock, "(@101:120)", 1)
    slow = scan_seconds(sim, clock, "(@101:110)", 10)
    per_channel = SWITCH_S + 1 / 50
    assert ten == pytest.approx(10 * per_channel + COMMAND_S, abs=1e-9)
    assert twenty == pytest.approx(20 * per_channel + COMMAND_S, abs=1e-9)
    assert slow == pytest.approx(10 * (SWITCH_S + 10 / 50) + COMMAND_S, abs=1e-9)
    assert ask(sim, "ROUT:SCAN:COUN:SCAN 3;:SYST:ERR?") == OK
    start = clock.now
    assert len(readings(sim, SCAN.format(30))) == 30
    assert clock.now - start == pytest.approx(3 * 10 * (SWITCH_S + 10 / 50) + COMMAND_S)
    # With an interval longer than a sweep, sweeps start that far apart.
    assert ask(sim, "ROUT:SCAN:INT 5;:SYST:ERR?") == OK
    start = clock.now
    assert ask(sim, "INIT;*OPC?") == "1"
    assert clock.now - start == pytest.approx(2 * 5 + 10 * (SWITCH_S + 10 / 50) + COMMAND_S)


def test_the_scan_runs_while_the_instrument_answers(sim: DaqSimulator, clock: FakeClock) -> None:
    assert ask(sim, "SENS:TEMP:NPLC 12, (@101:120,201:204);:SYST:ERR?") == OK
    assert ask(sim, "STAT:OPER:MAP 0, 4917, 4918;:INIT;:STAT:OPER:COND?") == "1"
    assert ask(sim, "TRIG:STAT?") == "RUNNING;RUNNING;0"
    assert ask(sim, "INIT;:SYST:ERR?").startswith("-213,")  # already running
    assert ask(sim, "ROUT:SCAN (@101);:SYST:ERR?").startswith("-221,")
    clock.advance(10 * (SWITCH_S + 0.24))
    assert ask(sim, "TRAC:ACT?;:ROUT:SCAN:STAT?") == "10;RUNNING;1;10"  # the buffer fills
    assert ask(sim, "ABOR;:STAT:OPER:COND?;:TRIG:STAT?") == "0;ABORTED;ABORTED;0"
    assert ask(sim, "TRAC:ACT?") == "10"  # the readings made before the abort are kept
    assert ask(sim, "STAT:OPER?;:STAT:OPER?") == "1;0"  # the event bit latched, read once


def test_readings_follow_the_heated_node_smoothly(sim: DaqSimulator, clock: FakeClock) -> None:
    line = "SENS:TEMP:NPLC 10, (@101:120,201:204);:ROUT:SCAN:CRE (@105,106,203,101);*OPC?"
    assert ask(sim, line) == "1"
    sim.set_heater("camera", 30.0)
    history = []
    for _ in range(20):
        clock.advance(60.0)
        camera_a, camera_b, camera_rtd, bench = readings(sim, SCAN.format(4))
        assert camera_a == pytest.approx(camera_rtd, abs=0.1)  # two sensors, one mass
        assert camera_b == pytest.approx(camera_rtd, abs=0.1)
        history.append((camera_rtd, bench))
    cameras = [camera for camera, _ in history]
    assert all(b > a for a, b in itertools.pairwise(cameras))
    steps = [b - a for a, b in itertools.pairwise(cameras)]
    assert max(steps) < 2.0  # about 1 K a minute at 30 W on 1500 J/K: no jumps
    benches = [bench for _, bench in history]
    assert max(abs(b - a) for a, b in itertools.pairwise(benches)) < 0.5
    assert cameras[-1] - cameras[0] > 10.0
    assert cameras[-1] == pytest.approx(sim.temperature("camera"), abs=1.0)


def test_noise_falls_with_the_integration_time(sim: DaqSimulator) -> None:
    def spread(nplc: float) -> float:
        assert ask(sim, f"SENS:TEMP:NPLC {nplc}, (@120);:SYST:ERR?") == OK
        return statistics.stdev(readings(sim, "MEAS:TEMP? (@120)")[0] for _ in range(60))

    fast, slow = spread(0.02), spread(12)
    assert 0.1 < fast < 0.4  # 0.03 K at 1 NPLC, times sqrt(50)
    assert slow < 0.02
    assert fast > 10 * slow


def test_an_open_thermocouple_reads_overflow(sim: DaqSimulator) -> None:
    assert ask(sim, "ROUT:SCAN:CRE (@104:106);:SYST:ERR?") == OK
    sim.set_open_sensor(105)
    values = ask(sim, SCAN.format(3)).split(",")
    assert values[1] == OVERFLOW and OVERFLOW not in (values[0], values[2])
    assert ask(sim, 'TRAC:DATA? 2, 2, "defbuffer1", STAT, FORM') == "1.000000000E+00,Overflow"
    assert ask(sim, "MEAS:TEMP? (@105)") == OVERFLOW
    # Without open-lead detection the floating input reads the reference junction, noisily.
    floating = readings(sim, "SENS:TEMP:ODET OFF, (@105);:MEAS:TEMP? (@105)")[0]
    assert floating == pytest.approx(sim.temperature("rack"), abs=3.0)
    sim.set_open_sensor(105, False)
    assert ask(sim, "MEAS:TEMP? (@105)") != OVERFLOW
    # Nothing is wired to 205-220: configured anyway, they read as open.
    assert ask(sim, 'SENS:FUNC "TEMP", (@205);:TEMP:ODET ON, (@205);:MEAS:TEMP? (@205)') == OVERFLOW
    with pytest.raises(ValueError, match="nothing is wired"):
        sim.set_open_sensor(220)


def test_units_and_nplc(sim: DaqSimulator) -> None:
    kelvin = readings(sim, "SENS:TEMP:NPLC 12, (@116);:MEAS:TEMP? (@116)")[0]
    assert ask(sim, "SENS:TEMP:UNIT CELSIUS, (@116);:SENS:TEMP:UNIT? (@116)") == "CELS"
    assert readings(sim, "MEAS:TEMP? (@116)")[0] == pytest.approx(kelvin - 273.15, abs=0.05)
    assert ask(sim, "TEMP:UNIT FAHR, (@116);:SYST:ERR?") == OK
    fahrenheit = readings(sim, "MEAS:TEMP? (@116)")[0]
    assert fahrenheit == pytest.approx((kelvin - 273.15) * 1.8 + 32, abs=0.1)
    assert ask(sim, 'MEAS:TEMP? (@116), "defbuffer1", UNIT') == "Fahrenheit"
    assert ask(sim, "SENS:TEMP:NPLC 0.5, (@101);:SENS:TEMP:NPLC? (@101)") == "0.5"
    assert ask(sim, "SENS:TEMP:NPLC MIN, (@101);:SENS:TEMP:NPLC? (@101)") == "0.0005"
    assert ask(sim, "SENS:TEMP:NPLC MAX, (@101);:SENS:TEMP:NPLC? (@101)") == "12"  # 50 Hz
    assert ask(sim, "SENS:TEMP:NPLC DEF, (@101);:SENS:TEMP:NPLC? (@101)") == "1"


def test_60_hz_allows_longer_nplc() -> None:
    sim = DaqSimulator(line_hz=60.0)
    assert ask(sim, "SENS:TEMP:NPLC MAX, (@101);:SENS:TEMP:NPLC? (@101);:SYST:LFR?") == "15;60"


def test_the_transducer_must_match_the_wiring(sim: DaqSimulator) -> None:
    true_bench = sim.temperature("optical_bench")
    # A K thermocouple read with the J table: the voltage is right, the table is not.
    line = "SENS:TEMP:NPLC 12, (@101);:TEMP:TC:TYPE J, (@101);:MEAS:TEMP? (@101)"
    as_j = readings(sim, line)[0]
    rack = sim.temperature("rack")
    assert as_j == pytest.approx(rack + (true_bench - rack) * 41 / 52, abs=0.1)
    # A simulated reference junction replaces the card's: off by their difference.
    line = "TEMP:TC:TYPE K, (@101);:TEMP:TC:RJUN:RSEL SIM, (@101);:TEMP:TC:RJUN:SIM 30, (@101)"
    assert ask(sim, f"{line};:SYST:ERR?") == OK
    shifted = readings(sim, "MEAS:TEMP? (@101)")[0]
    assert shifted == pytest.approx(true_bench + 303.15 - rack, abs=0.1)
    # The Pt100 on 201 read as a 2-wire RTD adds its leads; read as a thermocouple: overflow.
    four = readings(sim, "SENS:TEMP:NPLC 12, (@201);:MEAS:TEMP? (@201)")[0]
    two = readings(sim, "TEMP:TRAN RTD, (@201);:MEAS:TEMP? (@201)")[0]
    assert two - four == pytest.approx(0.5, abs=0.02)
    assert ask(sim, "TEMP:TRAN TC, (@201);:MEAS:TEMP? (@201)") == OVERFLOW


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("BOGUS:CMD 1", -113),
        ("TRIG:COUN 3", -113),  # the 34970A's scan count: the DAQ6510 has none
        ("UNIT:TEMP C,(@101)", -113),  # its unit lives under SENS:TEMP on the DAQ6510
        ("SENS2:FUNC? (@101)", -113),
        ("SENS:TEMP:NPLC 13, (@101)", -222),  # beyond 12 on a 50 Hz line
        ("SENS:TEMP:NPLC fast, (@101)", -224),
        ("SENS:TEMP:NPLC 1", -109),
        ("SENS:TEMP:NPLC 1, (@101), 2", -108),
        ("SENS:TEMP:NPLC 1, (@220)", -221),  # 220 does not measure temperature
        ("SENS:TEMP:NPLC 1, 101", -224),  # a channel list has its (@...)
        ("SENS:TEMP:TC:TYPE X, (@101)", -224),
        ("SENS:TEMP:UNIT K, (@101)", -224),
        ('SENS:FUNC "VOLT:DC", (@220)', -224),  # only temperature is simulated
        ("SENS:TEMP:TRAN FRTD, (@114)", -221),  # 114 is 104's sense pair
        ("ROUT:SCAN (@101,220)", -221),
        ("ROUT:SCAN:CRE (@101:125)", -224),
        ("ROUT:SCAN (@119:202)", -224),
        ("ROUT:SCAN:ADD (@101)", -221),  # already in the list
        ("ROUT:SCAN:BUFF 'nobuffer'", -224),
        ("ROUT:SCAN:COUN:SCAN 2.5", -224),
        ("ROUT:SCAN:STAR:STIM EXT", -224),
        ("ROUT:CLOS (@101:102)", -221),
        ("MEAS:TEMP? (@220)", -221),
        ("READ?", -221),  # no channel closed: the terminals are not simulated
        ("FETC?", -230),
        ('TRAC:DATA? 1, 5, "defbuffer1"', -222),  # the buffer is empty
        ('TRAC:DATA? 1, 1, "defbuffer1", VOLT', -224),
        ("TRAC:POIN 5", -222),
        ('TRAC:DEL "defbuffer1"', -221),
        ('TRAC:MAKE "defbuffer2", 100', -221),
        ("FORM:DATA REAL", -221),
        ("*LANG TSP", -224),
        ("*RCL 3", -221),
        ("*SAV 9", -222),
        ('SENS:FUNC "NONE", (@101)', -221),  # still in the scan list
    ],
)
def test_refused_commands_queue_an_scpi_error(sim: DaqSimulator, line: str, code: int) -> None:
    before = ask(sim, "ROUT:SCAN?")
    assert sim.handle_line(line) is None
    entry = ask(sim, "SYST:ERR?")
    assert entry.startswith(f'{code},"') and entry.count(";") == 2  # message;severity;time
    assert ask(sim, "SYST:ERR?") == OK
    assert ask(sim, "ROUT:SCAN?") == before  # a refused command changes nothing


def test_a_refused_setting_changes_no_channel(sim: DaqSimulator) -> None:
    assert sim.handle_line("SENS:TEMP:NPLC 10, (@119:120,205)") is None
    assert ask(sim, "SENS:TEMP:NPLC? (@119,120)") == "1,1"


def test_the_error_queue_keeps_the_oldest_and_marks_overflow(sim: DaqSimulator) -> None:
    for _ in range(QUEUE_DEPTH + 5):
        sim.handle_line("NOPE")
    assert ask(sim, "SYST:ERR:COUN?") == str(QUEUE_DEPTH)
    entries = [ask(sim, "SYST:ERR?") for _ in range(QUEUE_DEPTH)]
    assert entries[0].startswith('-113,"Undefined header') and entries[-1].startswith("-350,")
    assert ask(sim, "SYST:ERR?") == OK
    sim.handle_line("NOPE;NOPE")
    assert ask(sim, "*CLS;:SYST:ERR:COUN?") == "0"


def test_reset_forgets_the_setup_and_recall_brings_it_back(sim: DaqSimulator) -> None:
    assert ask(sim, 'TRAC:MAKE "mine", 50;:MEAS:TEMP? (@101), "mine";:TRAC:ACT? "mine"')
    assert ask(sim, "*RST;:ROUT:SCAN?;:FUNC? (@101)") == "(@);NONE"
    assert ask(sim, 'TRAC:ACT? "mine";:SYST:ERR?').startswith("-224,")  # *RST deletes it
    assert ask(sim, "INIT;:SYST:ERR?").startswith("-221,")
    assert ask(sim, "FETC?;:SYST:ERR?").startswith("-230,")
    # After *RST a channel set to temperature has the factory settings.
    defaults = 'FUNC "TEMP", (@101);:TEMP:TRAN? (@101);:TEMP:UNIT? (@101);:TEMP:ODET? (@101)'
    assert ask(sim, defaults) == "TC;CELS;0"
    assert ask(sim, "*RCL 0;:ROUT:SCAN?;:ROUT:SCAN:COUN:SCAN?") == "(@101:120,201:204);1"
    setup = 'FUNC "TEMP", (@220);:ROUT:SCAN:CRE (@220);:ROUT:SCAN:COUN:SCAN 4;*SAV 1'
    assert ask(sim, f"{setup};*RST;*RCL 1;:ROUT:SCAN?") == "(@220)"
    assert ask(sim, "ROUT:SCAN:COUN:SCAN?") == "4"


class WatchedSimulator(DaqSimulator):
    """Tells the test when a line that waits for the scan has started, and on which thread."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waiting = threading.Event()
        self.waiter: threading.Thread | None = None

    def handle_line(self, line: str) -> str | None:
        if line == "*OPC?":
            self.waiter = threading.current_thread()
            self.waiting.set()
        return super().handle_line(line)


def test_a_client_waiting_for_a_long_scan_does_not_hold_up_stop() -> None:
    sim = WatchedSimulator(port=0, speed=1.0)
    sim.start()
    try:
        line = "SENS:TEMP:NPLC 12, (@101:120,201:204);:ROUT:SCAN:COUN:SCAN 20;:INIT"
        assert sim.handle_line(f"{line};:SYST:ERR?") == OK  # a 117 s scan
        with socket.create_connection((sim.host, sim.port), timeout=5) as conn:
            conn.sendall(b"*OPC?\n")  # keeps the instrument busy until the scan ends
            assert sim.waiting.wait(5.0)
            sim.stop()
            # The wait was cut short: its thread has ended though the scan it waited
            # for is still running (a stop that let it finish would take 117 s).
            assert sim.waiter is not None and not sim.waiter.is_alive()
            assert sim.state.running
    finally:
        sim.stop()
    assert not sim.is_running


def test_over_tcp_with_the_speed_up() -> None:
    with DaqSimulator(port=0, speed=1000.0) as sim:
        with socket.create_connection((sim.host, sim.port), timeout=5) as conn:
            stream = conn.makefile("rwb")
            stream.write(b"*IDN?\n:ROUT:SCAN (@101:110);:ROUT:SCAN:COUN:SCAN 2;:INIT;*WAI\n")
            stream.write(b'TRAC:DATA? 1, 20, "defbuffer1", READ, CHAN\nSYST:ERR?\n')
            stream.flush()
            assert stream.readline().startswith(b"KEITHLEY INSTRUMENTS,MODEL DAQ6510")
            assert len(stream.readline().split(b",")) == 40
            assert stream.readline() == OK.encode() + b"\n"


def test_main_prints_ready_and_stops_on_sigterm() -> None:
    module = "controlroom.devices.daq.sim.server"
    with SimulatorProcess(module, ready_timeout=30.0) as sim:
        assert sim.host == "127.0.0.1"
        with LineClient(sim.port) as client:
            assert client.ask("*IDN?").startswith("KEITHLEY")
        sim.stop(timeout=15.0)
        assert sim.returncode == 0


def test_main_rejects_bad_options() -> None:
    with pytest.raises(SystemExit):
        main(["--speed", "0"])
    with pytest.raises(SystemExit):
        main(["--line-hz", "55"])
