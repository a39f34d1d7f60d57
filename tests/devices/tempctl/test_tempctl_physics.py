"""The thermal model, control loop and sensor curves behind the 336 simulator."""

from __future__ import annotations

import math
import statistics

import pytest

from controlroom.devices.tempctl.sim.control_loop import ControlLoop, HeaterFault, OutputMode
from controlroom.devices.tempctl.sim.physics import (
    INPUTS,
    Stage,
    ThermalConfig,
    ThermalModel,
    gaussian,
    steady_state,
)
from controlroom.devices.tempctl.sim.sensor_curves import (
    SensorType,
    dt670_volts,
    in_range,
    pt100_ohms,
    sensor_units,
)


def heated_model(setpoint: float, heater_range: int = 3) -> ThermalModel:
    model = ThermalModel()
    loop = model.loops[1]
    loop.settings.heater_range = heater_range
    loop.set_target(setpoint)
    return model


def test_defaults_start_at_rest() -> None:
    model = ThermalModel()
    start = {name: model.temperature(name) for name in INPUTS}
    assert start == pytest.approx(steady_state(model.config))
    assert 77.0 < start["A"] < 80.0 < start["C"] < 120.0 < 280.0 < start["D"] < 293.15
    model.advance(3600.0)
    assert {n: model.temperature(n) for n in INPUTS} == pytest.approx(start, abs=1e-6)


def test_setpoint_step_converges_within_minutes() -> None:
    model = heated_model(120.0)
    model.advance(60.0)
    assert model.temperature("A") > 110.0  # 50 W into 40 J/K heats fast
    model.advance(540.0)
    assert model.temperature("A") == pytest.approx(120.0, abs=0.05)
    assert 0.0 < model.loops[1].output_percent < 100.0
    # Holding 120 K against 0.42 W/K of losses takes about 18 W.
    assert model.loops[1].power == pytest.approx(18.3, abs=1.0)


def test_heater_off_relaxes_towards_the_bath() -> None:
    model = ThermalModel(temperatures={"A": 200.0})
    rest = steady_state(model.config)["A"]
    previous = model.temperature("A")
    for _ in range(30):
        model.advance(30.0)
        assert rest < model.temperature("A") < previous  # monotonic cool-down
        previous = model.temperature("A")
    assert model.temperature("A") == pytest.approx(rest, abs=0.05)


def test_ramp_moves_the_setpoint_at_the_set_rate() -> None:
    model = heated_model(100.0)
    model.advance(600.0)
    loop = model.loops[1]
    loop.settings.ramp_enabled, loop.settings.ramp_rate = True, 5.0
    loop.set_target(120.0)
    model.advance(60.0)
    assert loop.ramping
    assert loop.setpoint == pytest.approx(105.0, abs=0.01)
    assert model.temperature("A") == pytest.approx(105.0, abs=1.0)  # the loop follows
    model.advance(175.0)  # 20 K at 5 K/min takes 240 s
    assert loop.ramping
    model.advance(6.0)
    assert not loop.ramping
    assert loop.setpoint == loop.target == 120.0


def test_ramp_rate_zero_steps_at_once() -> None:
    loop = ControlLoop()
    loop.settings.ramp_enabled, loop.settings.ramp_rate = True, 0.0
    loop.set_target(50.0)
    assert (loop.setpoint, loop.ramping) == (50.0, False)


def test_higher_range_heats_faster() -> None:
    rises = []
    for heater_range in (1, 2, 3):
        model = ThermalModel()
        settings = model.loops[1].settings
        settings.mode, settings.manual_output, settings.heater_range = (
            OutputMode.OPEN_LOOP,
            50.0,
            heater_range,
        )
        start = model.temperature("A")
        model.advance(120.0)
        rises.append(model.temperature("A") - start)
    assert 0.0 < rises[0] < rises[1] < rises[2]
    assert rises[2] == pytest.approx(10 * rises[1], rel=0.05)  # a decade of power per range


def test_heater_power_follows_range_and_current() -> None:
    loop = ControlLoop()
    loop.settings.mode, loop.settings.manual_output = OutputMode.OPEN_LOOP, 100.0
    for heater_range, watts in ((0, 0.0), (1, 0.5), (2, 5.0), (3, 50.0)):
        loop.settings.heater_range = heater_range
        assert loop.step(None, 0.1) == pytest.approx(watts)
    loop.settings.manual_output = 50.0
    assert loop.step(None, 0.1) == pytest.approx(12.5)  # power goes with current squared


@pytest.mark.parametrize("fault", [HeaterFault.OPEN_LOAD, HeaterFault.SHORT])
def test_faulty_heater_gives_no_power(fault: HeaterFault) -> None:
    model = heated_model(150.0)
    model.set_heater_fault(1, fault)
    start = model.temperature("A")
    model.advance(300.0)
    assert model.loops[1].power == 0.0
    assert model.loops[1].output_percent == 0.0
    assert model.temperature("A") <= start


def test_disconnected_control_sensor_stops_the_heater() -> None:
    model = heated_model(150.0)
    model.advance(30.0)
    assert model.loops[1].power > 0.0
    model.set_sensor_disconnected("A")
    model.advance(1.0)
    assert model.reading("A") is None
    assert model.loops[1].power == 0.0
    model.set_sensor_disconnected("A", False)
    assert model.reading("A") == pytest.approx(model.temperature("A"), abs=0.02)


def test_no_nan_over_a_long_jump_at_full_power() -> None:
    model = heated_model(1000.0)  # unreachable: the heater saturates for hours
    model.advance(3 * 3600.0)
    temps = [model.temperature(n) for n in INPUTS]
    assert all(math.isfinite(t) for t in temps)
    assert min(temps) > 77.0
    assert max(temps) < 300.0
    assert model.loops[1].output_percent == 100.0


def test_result_does_not_depend_on_how_time_is_chunked() -> None:
    whole, pieces = heated_model(110.0), heated_model(110.0)
    whole.advance(60.0)
    for chunk in (0.03, 0.25, 7.0, 0.0, 12.72, 40.0):
        pieces.advance(chunk)
    assert pieces.elapsed == whole.elapsed == pytest.approx(60.0)
    assert [pieces.temperature(n) for n in INPUTS] == [whole.temperature(n) for n in INPUTS]


def test_noise_is_a_few_millikelvin_and_reproducible() -> None:
    def readings(seed: int) -> list[float]:
        model = ThermalModel(ThermalConfig(seed=seed))
        values = []
        for _ in range(400):
            model.advance(0.1)
            values.append(model.reading("D") or 0.0)
        return values

    first = readings(1)
    assert first == readings(1)
    assert first != readings(2)
    assert 0.001 < statistics.stdev(first) < 0.004


def test_gaussian_is_standard_normal() -> None:
    samples = [gaussian(7, 0, step) for step in range(20000)]
    assert statistics.fmean(samples) == pytest.approx(0.0, abs=0.03)
    assert statistics.stdev(samples) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_advance_rejects_nonsense(seconds: float) -> None:
    with pytest.raises(ValueError):
        ThermalModel().advance(seconds)


def test_config_rejects_a_step_too_long_for_a_light_stage() -> None:
    stages = dict(ThermalConfig().stages, A=Stage(heat_capacity=0.01, bath_conductance=0.4))
    with pytest.raises(ValueError, match="stage A"):
        ThermalConfig(stages=stages)


def test_dt670_curve_matches_the_standard_points() -> None:
    assert dt670_volts(77.35) == pytest.approx(1.027594)
    assert dt670_volts(300.0) == pytest.approx(0.559639)
    assert dt670_volts(4.2) > dt670_volts(77.35) > dt670_volts(300.0)


def test_pt100_follows_callendar_van_dusen_and_stays_smooth_below_73_k() -> None:
    assert pt100_ohms(273.15) == pytest.approx(100.0)
    assert pt100_ohms(373.15) == pytest.approx(138.5055, abs=1e-3)
    assert pt100_ohms(73.15) == pytest.approx(18.52, abs=0.01)
    assert pt100_ohms(73.14) == pytest.approx(pt100_ohms(73.16), abs=0.01)
    assert 2.0 < pt100_ohms(30.0) < 6.0


def test_sensor_units_and_ranges_per_type() -> None:
    assert sensor_units(SensorType.DISABLED, 100.0) == 0.0
    assert sensor_units(SensorType.NTC, 4.2) > sensor_units(SensorType.NTC, 300.0)
    assert in_range(SensorType.DIODE, 300.0)
    assert not in_range(SensorType.PLATINUM, 20.0)
    assert not in_range(SensorType.DISABLED, 300.0)
