"""The lumped thermal network behind the DAQ simulator, and the simulated setup it models."""

from __future__ import annotations

import itertools
import math

import pytest

from controlroom.devices.daq.sim.lab import (
    CRYOSTAT_NODES,
    WARM_AT_START,
    WIRING,
    lab_network,
    start_temperatures,
)
from controlroom.devices.daq.sim.thermal import Network, Node, ThermalNetwork
from controlroom.devices.tempctl.sim.physics import ThermalConfig, steady_state


def one_mass(capacity: float = 100.0, conductance: float = 2.0) -> Network:
    return Network(nodes={"m": Node(capacity, {"bath": conductance})}, boundaries={"bath": 80.0})


def chain() -> Network:
    return Network(
        nodes={
            "a": Node(50.0, {"bath": 0.5}),
            "b": Node(200.0),
            "c": Node(1000.0, {"room": 3.0}),
        },
        boundaries={"bath": 77.0, "room": 293.15},
        links=(("a", "b", 0.3), ("b", "c", 0.8)),
    )


def test_one_mass_relaxes_exponentially() -> None:
    model = ThermalNetwork(one_mass(), temperatures={"m": 300.0})
    tau = 100.0 / 2.0
    for seconds in (1.0, 10.0, 50.0, 200.0):
        model.advance(seconds)
        expected = 80.0 + (300.0 - 80.0) * math.exp(-model.elapsed / tau)
        assert model.temperature("m") == pytest.approx(expected, rel=1e-12)
    assert model.time_constants() == pytest.approx([tau])


def test_heating_raises_the_temperature_by_power_over_conductance() -> None:
    model = ThermalNetwork(one_mass())
    model.set_heater("m", 10.0)
    assert model.steady_state()["m"] == pytest.approx(85.0)
    previous = model.temperature("m")
    for _ in range(50):
        model.advance(20.0)
        now = model.temperature("m")
        assert now > previous  # monotonic, no overshoot
        assert now < 85.0
        previous = now
    assert previous == pytest.approx(85.0, abs=1e-6)


def test_energy_balance_holds_exactly() -> None:
    model = ThermalNetwork(chain(), temperatures={"a": 250.0, "b": 120.0, "c": 290.0})
    start = model.stored_energy()
    model.set_heater("b", 5.0)
    model.advance(37.5)
    model.set_heater("a", 1.0)
    model.advance(1234.0)
    model.set_heater("b", 0.0)
    model.advance(0.25)
    assert model.stored_energy() - start == pytest.approx(model.heat_in, rel=1e-9, abs=1e-6)


def test_the_result_depends_only_on_the_total_time() -> None:
    coarse = ThermalNetwork(chain(), temperatures={"a": 250.0})
    fine = ThermalNetwork(chain(), temperatures={"a": 250.0})
    coarse.advance(600.0)
    for _ in range(600):
        fine.advance(1.0)
    for name in ("a", "b", "c"):
        assert fine.temperature(name) == pytest.approx(coarse.temperature(name), rel=1e-10)


def test_a_long_wait_reaches_the_steady_state() -> None:
    model = ThermalNetwork(chain(), temperatures={"a": 300.0, "b": 300.0, "c": 100.0})
    model.set_heater("b", 2.0)
    model.advance(1e6)
    for name, temperature in model.steady_state().items():
        assert model.temperature(name) == pytest.approx(temperature, rel=1e-9)
    # At rest, what leaves through the boundaries is what the heater puts in.
    flows = 0.5 * (77.0 - model.temperature("a")) + 3.0 * (293.15 - model.temperature("c"))
    assert flows + 2.0 == pytest.approx(0.0, abs=1e-6)


def test_bad_networks_are_refused() -> None:
    nodes = {"a": Node(1.0, {"bath": 1.0}), "b": Node(1.0)}
    floating = Network(nodes=nodes, boundaries={"bath": 4.0})
    with pytest.raises(ValueError, match="linked"):
        ThermalNetwork(floating)
    with pytest.raises(ValueError, match="heat capacity"):
        Network(nodes={"a": Node(0.0)}, boundaries={})
    with pytest.raises(ValueError, match="unknown boundaries"):
        Network(nodes={"a": Node(1.0, {"sun": 1.0})}, boundaries={})
    with pytest.raises(ValueError, match="two different nodes"):
        Network(nodes={"a": Node(1.0)}, boundaries={}, links=(("a", "a", 1.0),))
    model = ThermalNetwork(one_mass())
    with pytest.raises(ValueError, match="no node 'x'"):
        model.set_heater("x", 1.0)
    with pytest.raises(ValueError, match="heater power"):
        model.set_heater("m", -1.0)
    with pytest.raises(ValueError, match="advance"):
        model.advance(math.nan)


def test_the_lab_cryostat_is_the_one_the_336_simulator_models() -> None:
    config = ThermalConfig()
    network = lab_network(config)
    lab = ThermalNetwork(network, temperatures=start_temperatures(network))
    at_rest = steady_state(config)
    for stage, node in CRYOSTAT_NODES.items():
        assert lab.temperature(node) == pytest.approx(at_rest[stage], rel=1e-9)
    lab.advance(3600.0)  # the chamber does not touch the cryostat
    for stage, node in CRYOSTAT_NODES.items():
        assert lab.temperature(node) == pytest.approx(at_rest[stage], rel=1e-9)


def test_the_chamber_cools_down_smoothly_from_room_temperature() -> None:
    network = lab_network()
    lab = ThermalNetwork(network, temperatures=start_temperatures(network))
    assert all(lab.temperature(node) == pytest.approx(293.15) for node in WARM_AT_START)
    history = []
    for _ in range(24):
        lab.advance(600.0)
        history.append(lab.temperature("shroud_top"))
    assert all(later < earlier for earlier, later in itertools.pairwise(history))
    assert history[-1] < 140.0  # after four hours the shroud is well on its way to the LN2
    assert lab.temperature("optical_bench") > history[-1]  # the bench lags behind


def test_every_wired_sensor_reads_a_node_of_the_lab() -> None:
    names = set(lab_network().nodes)
    assert {sensor.node for sensor in WIRING.values()} <= names
    assert all(sensor.transducer in ("TC", "FRTD") for sensor in WIRING.values())
