"""The OGSE command set of the simulator, driven through handle_line and a fake clock."""

from __future__ import annotations

import re

import pytest

from controlroom.devices.ogse.sim.server import OGSESimulator, main
from controlroom.devices.ogse.sim.state import IGNITION_S


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
def sim(clock: FakeClock) -> OGSESimulator:
    return OGSESimulator(clock=clock, latency=0)


def ask(sim: OGSESimulator, line: str) -> str:
    reply = sim.handle_line(line)
    assert reply is not None
    return reply


def pm_powers(sim: OGSESimulator) -> tuple[float, float]:
    match = re.fullmatch(r"pm1: (\S+) W \S+ C, pm2: (\S+) W \S+ C", ask(sim, "read"))
    assert match is not None
    return float(match[1]), float(match[2])


def light_the_lamp(sim: OGSESimulator, clock: FakeClock) -> None:
    assert ask(sim, "power on") == "OK"
    assert ask(sim, "operate on") == "OK"
    clock.advance(IGNITION_S + 0.01)
    assert ask(sim, "get lamp") == "lamp: ON"


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("get interlock", "interlock: CLOSE"),
        ("get power", "power: OFF"),
        ("get lamp", "lamp: OFF"),
        ("get laser", "laser: OFF"),
        ("get lamp-fault", "lamp-fault: NO-ERROR"),
        ("get controller-fault", "controller-fault: NO-ERROR"),
        ("get psu", "psu: OFF"),
        ("get operate", "operate: OFF"),
        ("get flags", "flags: 0x00  0000 0000"),
        ("read", r"pm1: [+-]\d\.\d{6}e[+-]\d\d W \+22\.\d C, pm2: .* W \+22\.\d C"),
        ("ldls status", "ldls: OK"),
        ("pm status", "pm1: OK, pm2: OK"),
        ("att status", "att: OK"),
        ("level", r"att-level: 1\.00E\+00 #0"),
        ("version", r"OGSE controller v2\.1 .*"),
        ("status", r"power: OFF, psu: OFF, operate: OFF, laser: OFF, lamp: OFF, "
         r"interlock: CLOSE, att: 1\.00E\+00 #0, power-ch1: \S+ W, power-ch2: \S+ W, "
         r"temp-ch1: \+22\.\d C, temp-ch2: \+22\.\d C"),
    ],
)  # fmt: skip
def test_query_reply_formats(sim: OGSESimulator, query: str, pattern: str) -> None:
    assert re.fullmatch(pattern, ask(sim, query))


def test_unknown_commands_get_the_error_reply_and_change_nothing(sim: OGSESimulator) -> None:
    assert ask(sim, "get lamp please") == "ERROR: unknown command string: get lamp please"
    assert ask(sim, "level sideways") == "ERROR: unknown command string: level sideways"
    assert ask(sim, "get flags") == "flags: 0x00  0000 0000"


def test_commands_ignore_case_and_extra_blanks(sim: OGSESimulator) -> None:
    assert ask(sim, "  POWER   On ") == "OK"
    assert ask(sim, "Get Power") == "power: ON"


def test_operate_needs_power_and_lights_the_lamp_after_ignition(
    sim: OGSESimulator, clock: FakeClock
) -> None:
    assert ask(sim, "operate on") == "ERROR: power is off"
    assert ask(sim, "power on") == "OK"
    assert ask(sim, "get psu") == "psu: ON"
    assert ask(sim, "operate on") == "OK"
    assert ask(sim, "get laser") == "laser: ON"
    assert ask(sim, "get lamp") == "lamp: OFF"  # still igniting
    clock.advance(IGNITION_S)
    assert ask(sim, "get lamp") == "lamp: ON"
    assert ask(sim, "get flags") == "flags: 0x1f  0001 1111"
    assert ask(sim, "operate off") == "OK"
    assert ask(sim, "get lamp") == "lamp: OFF" and ask(sim, "get laser") == "laser: OFF"


def test_an_open_interlock_puts_out_the_lamp_and_blocks_operate(
    sim: OGSESimulator, clock: FakeClock
) -> None:
    light_the_lamp(sim, clock)
    sim.toggle_interlock()
    assert ask(sim, "get interlock") == "interlock: OPEN"
    assert ask(sim, "get lamp") == "lamp: OFF" and ask(sim, "get laser") == "laser: OFF"
    assert ask(sim, "get psu") == "psu: OFF" and ask(sim, "get power") == "power: ON"
    assert ask(sim, "operate on") == "ERROR: interlock is open"
    assert int(ask(sim, "get flags").split()[1], 16) & 0x20
    sim.toggle_interlock()
    assert ask(sim, "get interlock") == "interlock: CLOSE"
    assert ask(sim, "get lamp") == "lamp: OFF"  # closing it again does not relight the lamp
    assert ask(sim, "operate on") == "OK"


def test_power_follows_the_lamp_with_a_time_constant(sim: OGSESimulator, clock: FakeClock) -> None:
    dark1, dark2 = pm_powers(sim)
    assert abs(dark1) < 1e-11 and abs(dark2) < 1e-11
    light_the_lamp(sim, clock)
    tau = sim.state.bench.config.warmup_tau_s
    clock.advance(tau)
    one_tau = pm_powers(sim)[0]
    clock.advance(10 * tau)
    full = pm_powers(sim)[0]
    assert one_tau == pytest.approx(0.632 * full, rel=0.03)  # 1 - 1/e after one time constant
    assert full == pytest.approx(sim.state.bench.config.pm1_full_w, rel=0.02)
    ask(sim, "operate off")
    clock.advance(5 * sim.state.bench.config.cooldown_tau_s)
    assert pm_powers(sim)[0] < 0.01 * full


def test_attenuation_scales_meter_1_after_the_wheels_stop(
    sim: OGSESimulator, clock: FakeClock
) -> None:
    light_the_lamp(sim, clock)
    clock.advance(200.0)
    before1, before2 = pm_powers(sim)
    assert ask(sim, "level #20") == "OK"
    assert ask(sim, "level").startswith("att-level: * 1.00E-02 #20")
    assert pm_powers(sim)[0] == pytest.approx(before1, rel=0.02)  # still turning
    clock.advance(10.0)
    assert ask(sim, "level") == "att-level: 1.00E-02 #20"
    after1, after2 = pm_powers(sim)
    assert after1 == pytest.approx(0.01 * before1, rel=0.02)
    assert after2 == pytest.approx(before2, rel=0.02)  # the reference head sees the lamp


def test_level_by_factor_positions_and_steps(sim: OGSESimulator, clock: FakeClock) -> None:
    assert ask(sim, "level 3.2e-3") == "OK"
    clock.advance(10.0)
    assert ask(sim, "level") == "att-level: 3.16E-03 #25"
    assert ask(sim, "level 3 5") == "OK"  # OD 0.2 + 2.0
    clock.advance(10.0)
    assert ask(sim, "level") == "att-level: 6.31E-03 #22"
    assert ask(sim, "level up") == "OK" and ask(sim, "level down") == "OK"
    assert ask(sim, "level down") == "OK"
    clock.advance(10.0)
    assert ask(sim, "level").endswith("#21")
    assert ask(sim, "level #0") == "OK" and ask(sim, "level down") == "OK"
    assert ask(sim, "level").endswith("#0")
    assert ask(sim, "level #46") == "OK" and ask(sim, "level up") == "OK"
    assert ask(sim, "level").endswith("#46")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("level #47", "ERROR: usage: level #index -- index goes from 0 to 46"),
        ("level #x", "ERROR: not a number: 'x'"),
        ("level #2.5", "ERROR: not an integer: '2.5'"),
        ("level 1.5", "ERROR: usage: level <value> -- value must be in [0,1]"),
        ("level 0 4", "ERROR: usage: level <wheel_1> <wheel_2> -- wheel positions must be "
         "integer = 1..8"),
    ],
)  # fmt: skip
def test_bad_attenuator_arguments_are_refused(sim: OGSESimulator, line: str, reply: str) -> None:
    assert ask(sim, line) == reply
    assert ask(sim, "level") == "att-level: 1.00E+00 #0"


def test_a_broken_lamp_latches_a_fault_until_reset(sim: OGSESimulator, clock: FakeClock) -> None:
    light_the_lamp(sim, clock)
    sim.set_lamp_broken(True)
    assert ask(sim, "get lamp") == "lamp: OFF" and ask(sim, "get operate") == "operate: OFF"
    assert ask(sim, "get lamp-fault") == "lamp-fault: ERROR"
    assert ask(sim, "operate on") == "ERROR: lamp fault, reset first"
    assert ask(sim, "reset") == "OK"
    assert ask(sim, "get lamp-fault") == "lamp-fault: NO-ERROR"
    assert ask(sim, "get power") == "power: OFF"
    # Still broken: it fails again at the next ignition.
    ask(sim, "power on")
    ask(sim, "operate on")
    clock.advance(IGNITION_S)
    assert ask(sim, "get lamp-fault") == "lamp-fault: ERROR"
    sim.set_lamp_broken(False)
    ask(sim, "reset")
    light_the_lamp(sim, clock)


def test_controller_fault_and_unplugged_devices(sim: OGSESimulator, clock: FakeClock) -> None:
    light_the_lamp(sim, clock)
    sim.set_controller_fault()
    assert ask(sim, "get controller-fault") == "controller-fault: ERROR"
    assert ask(sim, "get lamp") == "lamp: OFF"
    assert ask(sim, "power on") == "ERROR: controller fault, reset first"
    assert ask(sim, "get flags") == "flags: 0x81  1000 0001"  # power on, psu cut
    sim.set_connected("pm2", False)
    assert ask(sim, "pm status") == "pm1: OK, pm2: ERROR"
    assert ask(sim, "read").endswith("pm2: +nan W +nan C")
    sim.set_connected("att", False)
    assert ask(sim, "att status") == "att: ERROR"
    assert ask(sim, "level up") == "ERROR: no connection to the attenuator"
    sim.set_connected("ldls", False)
    assert ask(sim, "ldls status") == "ldls: ERROR"
    assert ask(sim, "reset") == "OK" and ask(sim, "power on") == "ERROR: no connection to the LDLS"
    with pytest.raises(ValueError, match="no link"):
        sim.set_connected("pm3", False)


def test_meter_temperatures_follow_a_first_order_model(
    sim: OGSESimulator, clock: FakeClock
) -> None:
    config = sim.state.bench.config
    light_the_lamp(sim, clock)
    clock.advance(config.thermal_tau_s)
    ask(sim, "get lamp")  # the model catches up at each command
    heads = sim.state.bench.head_temperatures
    rise = heads[1] - config.ambient_c
    assert 0.5 * config.pm2_heating_k < rise < 0.7 * config.pm2_heating_k
    clock.advance(20 * config.thermal_tau_s)
    ask(sim, "get lamp")
    assert sim.state.bench.head_temperatures[1] == pytest.approx(
        config.ambient_c + config.pm2_heating_k, abs=0.01
    )
    temp2 = float(ask(sim, "read").split(",")[1].split()[3])
    assert temp2 == pytest.approx(config.ambient_c + config.pm2_heating_k, abs=0.2)


def test_session_end_commands_give_no_reply(sim: OGSESimulator) -> None:
    assert sim.handle_line("exit") is None
    assert sim.handle_line("QUIT") is None


def test_main_rejects_bad_options() -> None:
    with pytest.raises(SystemExit):
        main(["--speed", "0"])
    with pytest.raises(SystemExit):
        main(["--latency", "-1"])
    with pytest.raises(SystemExit):
        main(["--disconnected", "pm3"])
