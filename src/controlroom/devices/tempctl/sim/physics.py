"""Thermal model of the small cryostat behind the simulated Model 336 (pure, no I/O).

Four lumped masses, one per input, exchange heat through fixed conductances
with each other, with a cold bath (an LN2 reservoir at 77 K by default) and with
the room. Heater outputs 1 and 2 warm the masses read by inputs A and B. Time
advances in fixed steps (0.1 s, the 336's control rate) whatever the size of
the jump asked for, so the explicit integration stays stable and the result
depends only on the total simulated time. Sensor noise is a deterministic
function of (seed, input, step), so runs repeat exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from controlroom.devices.tempctl.sim.control_loop import ControlLoop, HeaterFault

INPUTS = ("A", "B", "C", "D")
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Stage:
    """One thermal mass, read by the input of the same name."""

    heat_capacity: float  # J/K
    bath_conductance: float  # W/K to the cold bath
    ambient_conductance: float = 0.0  # W/K to the room


def _default_stages() -> dict[str, Stage]:
    return {
        "A": Stage(40.0, 0.4),  # sample stage, heated by output 1: tau ~ 95 s
        "B": Stage(20.0, 0.2),  # detector plate, heated by output 2
        "C": Stage(200.0, 1.0, 0.05),  # radiation shield, ~96 K
        "D": Stage(2000.0, 0.0, 2.0),  # vacuum flange, a few K below the room
    }


@dataclass(frozen=True)
class ThermalConfig:
    """The cryostat: masses, couplings, heaters, integration step and noise."""

    bath_temperature: float = 77.0
    ambient_temperature: float = 293.15
    stages: Mapping[str, Stage] = field(default_factory=_default_stages)
    links: tuple[tuple[str, str, float], ...] = (
        ("A", "C", 0.02),  # W/K between two stages
        ("B", "C", 0.01),
        ("C", "D", 0.05),
    )
    heaters: Mapping[int, str] = field(default_factory=lambda: {1: "A", 2: "B"})
    step: float = 0.1  # seconds
    noise: float = 0.002  # kelvin rms on every reading
    seed: int = 0

    def __post_init__(self) -> None:
        if sorted(self.stages) != list(INPUTS):
            raise ValueError(f"stages must be exactly {INPUTS}")
        unknown = {a for a, b, _ in self.links} | {b for _, b, _ in self.links}
        if not (unknown | set(self.heaters.values())) <= set(INPUTS):
            raise ValueError("links and heaters must name stages A-D")
        if self.step <= 0 or self.noise < 0:
            raise ValueError("step must be positive and noise not negative")
        for name, stage in self.stages.items():
            # Explicit Euler is stable and monotonic below half the node's time constant.
            if self.step * conductance_sum(self, name) >= 0.5 * stage.heat_capacity:
                raise ValueError(f"step {self.step} s is too long for stage {name}")


def conductance_sum(config: ThermalConfig, name: str) -> float:
    """Total conductance (W/K) from stage ``name`` to everything else."""
    stage = config.stages[name]
    links = sum(g for a, b, g in config.links if name in (a, b))
    return stage.bath_conductance + stage.ambient_conductance + links


def steady_state(config: ThermalConfig) -> dict[str, float]:
    """Temperatures with every heater off, after an infinitely long wait."""
    index = {name: i for i, name in enumerate(INPUTS)}
    matrix = np.zeros((len(INPUTS), len(INPUTS)))
    rhs = np.zeros(len(INPUTS))
    for name, stage in config.stages.items():
        i = index[name]
        matrix[i, i] = conductance_sum(config, name)
        rhs[i] = (
            stage.bath_conductance * config.bath_temperature
            + stage.ambient_conductance * config.ambient_temperature
        )
    for a, b, g in config.links:
        matrix[index[a], index[b]] -= g
        matrix[index[b], index[a]] -= g
    solution = np.linalg.solve(matrix, rhs)
    return {name: float(solution[index[name]]) for name in INPUTS}


class ThermalModel:
    """The cryostat and its two control loops, advanced by :meth:`advance`."""

    def __init__(
        self,
        config: ThermalConfig | None = None,
        *,
        temperatures: Mapping[str, float] | None = None,
    ) -> None:
        self.config = config if config is not None else ThermalConfig()
        start = steady_state(self.config) | dict(temperatures or {})
        self._temps = [float(start[name]) for name in INPUTS]
        self._capacity = [self.config.stages[name].heat_capacity for name in INPUTS]
        self._total_g = [conductance_sum(self.config, name) for name in INPUTS]
        self._fixed_flow = [self._boundary_flow(name) for name in INPUTS]
        self._neighbours = self._neighbour_lists()
        self.loops = {output: ControlLoop() for output in sorted(self.config.heaters)}
        self._heater_index = {out: INPUTS.index(name) for out, name in self.config.heaters.items()}
        self._unreadable: dict[str, set[str]] = {"disconnected": set(), "disabled": set()}
        self._steps = 0
        self._pending = 0.0

    @property
    def elapsed(self) -> float:
        """Simulated seconds integrated so far."""
        return self._steps * self.config.step

    def advance(self, seconds: float) -> None:
        """Integrate ``seconds`` of simulated time; a remainder below one step is kept."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"cannot advance by {seconds!r} s")
        self._pending += seconds
        count = int(self._pending / self.config.step + 1e-9)
        self._pending = max(self._pending - count * self.config.step, 0.0)
        for _ in range(count):
            self._substep()

    def temperature(self, name: str) -> float:
        """The true temperature (kelvin) of the mass read by input ``name``."""
        return self._temps[INPUTS.index(name)]

    def reading(self, name: str) -> float | None:
        """What input ``name`` measures now (kelvin, with noise); None if it cannot read."""
        if self.is_unreadable(name):
            return None
        return self._noisy(INPUTS.index(name))

    def is_unreadable(self, name: str) -> bool:
        return any(name in names for names in self._unreadable.values())

    def set_sensor_disconnected(self, name: str, disconnected: bool = True) -> None:
        """Inject (or clear) a broken sensor lead on input ``name``."""
        self._mark("disconnected", name, disconnected)

    def set_sensor_enabled(self, name: str, enabled: bool) -> None:
        """Follow ``INTYPE``: a disabled input gives no reading, for display or control."""
        self._mark("disabled", name, not enabled)

    def set_heater_fault(self, output: int, fault: HeaterFault) -> None:
        """Inject (or clear with ``HeaterFault.NONE``) an open or shorted heater."""
        self.loops[output].fault = fault

    def _mark(self, reason: str, name: str, flag: bool) -> None:
        if name not in INPUTS:
            raise ValueError(f"no input {name!r}")
        (self._unreadable[reason].add if flag else self._unreadable[reason].discard)(name)

    def _boundary_flow(self, name: str) -> float:
        stage, config = self.config.stages[name], self.config
        return (
            stage.bath_conductance * config.bath_temperature
            + stage.ambient_conductance * config.ambient_temperature
        )

    def _neighbour_lists(self) -> list[list[tuple[int, float]]]:
        lists: list[list[tuple[int, float]]] = [[] for _ in INPUTS]
        for a, b, g in self.config.links:
            lists[INPUTS.index(a)].append((INPUTS.index(b), g))
            lists[INPUTS.index(b)].append((INPUTS.index(a), g))
        return lists

    def _substep(self) -> None:
        dt = self.config.step
        heat = [0.0] * len(INPUTS)
        for output, loop in self.loops.items():
            control = loop.settings.control_input
            reading = self.reading(control) if control in INPUTS else None
            heat[self._heater_index[output]] += loop.step(reading, dt)
        temps = self._temps
        self._temps = [
            t
            + dt
            / self._capacity[i]
            * (
                heat[i]
                + self._fixed_flow[i]
                - self._total_g[i] * t
                + sum(g * temps[j] for j, g in self._neighbours[i])
            )
            for i, t in enumerate(temps)
        ]
        self._steps += 1

    def _noisy(self, index: int) -> float:
        noise = self.config.noise * gaussian(self.config.seed, index, self._steps)
        return self._temps[index] + noise


def gaussian(seed: int, channel: int, step: int) -> float:
    """A standard normal deviate that depends only on its arguments (splitmix64 + Box-Muller)."""
    first = _splitmix64(_splitmix64(_splitmix64(seed) ^ channel) ^ step)
    second = _splitmix64(first)
    u1 = ((first >> 11) + 1) / 2.0**53  # in (0, 1], so the log is finite
    u2 = (second >> 11) / 2.0**53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)
