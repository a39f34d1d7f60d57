"""Light and heat behind the simulated OGSE: lamp output, power meters (pure, no I/O).

The laser-driven lamp does not light at full power: once ignited its output
rises towards 1 with a warm-up time constant and falls with a much shorter
one when the plasma goes out. Power meter 1 sits behind the attenuator (its
reading scales with the filter-wheel transmission), power meter 2 is the
reference head on the lamp output. Both heads warm up by a few tenths to a
few kelvin when the lamp housing runs, as a first-order thermal model
towards ``ambient + heating × output``. Readings carry Gaussian noise from a
seeded generator, so runs repeat exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_MAX_STEP_S = 0.5


@dataclass(frozen=True)
class OpticsConfig:
    """Time constants, full-scale powers, thermal couplings and noise."""

    warmup_tau_s: float = 8.0
    cooldown_tau_s: float = 0.3
    pm1_full_w: float = 2.0e-6  # behind the attenuator at factor 1, lamp warmed up
    pm2_full_w: float = 2.2e-7  # reference head
    relative_noise: float = 0.002
    dark_noise_w: float = 2.0e-13
    ambient_c: float = 22.0
    pm1_heating_k: float = 0.4
    pm2_heating_k: float = 2.5  # the reference head sits next to the lamp housing
    thermal_tau_s: float = 120.0
    temperature_noise_k: float = 0.03
    seed: int = 0

    def __post_init__(self) -> None:
        taus = (self.warmup_tau_s, self.cooldown_tau_s, self.thermal_tau_s)
        if min(taus) <= 0:
            raise ValueError("time constants must be positive")
        if min(self.relative_noise, self.dark_noise_w, self.temperature_noise_k) < 0:
            raise ValueError("noise levels must not be negative")


@dataclass(frozen=True)
class MeterReading:
    """One power meter: power in watts and head temperature in °C (NaN when unplugged)."""

    power_w: float
    temperature_c: float


NOT_CONNECTED = MeterReading(math.nan, math.nan)


class OpticalBench:
    """Lamp output (0 dark … 1 warmed up) and the two power-meter head temperatures."""

    def __init__(self, config: OpticsConfig | None = None) -> None:
        self.config = config if config is not None else OpticsConfig()
        self.output = 0.0
        self.head_temperatures = [self.config.ambient_c, self.config.ambient_c]
        self._rng = random.Random(self.config.seed)

    def advance(self, seconds: float, lit: bool) -> None:
        """Let ``seconds`` of simulated time pass with the lamp lit or dark."""
        remaining = max(seconds, 0.0)
        longest = max(self.config.warmup_tau_s, self.config.thermal_tau_s)
        if remaining > 20 * longest:
            self._settle(lit)  # long idle: everything is at equilibrium
            return
        while remaining > 0:
            step = min(remaining, _MAX_STEP_S)
            self._step(step, lit)
            remaining -= step

    def read(self, meter: int, transmission: float) -> MeterReading:
        """A noisy reading of power meter 1 (behind the attenuator) or 2 (reference)."""
        cfg = self.config
        full = cfg.pm1_full_w * transmission if meter == 1 else cfg.pm2_full_w
        signal = full * self.output
        power = signal * (1 + cfg.relative_noise * self._rng.gauss()) + (
            cfg.dark_noise_w * self._rng.gauss()
        )
        temperature = self.head_temperatures[meter - 1]
        temperature += cfg.temperature_noise_k * self._rng.gauss()
        return MeterReading(power, temperature)

    def _step(self, seconds: float, lit: bool) -> None:
        cfg = self.config
        before = self.output
        target, tau = (1.0, cfg.warmup_tau_s) if lit else (0.0, cfg.cooldown_tau_s)
        self.output = target + (before - target) * math.exp(-seconds / tau)
        mean_output = (before + self.output) / 2
        decay = math.exp(-seconds / cfg.thermal_tau_s)
        for index, heating in enumerate((cfg.pm1_heating_k, cfg.pm2_heating_k)):
            equilibrium = cfg.ambient_c + heating * mean_output
            current = self.head_temperatures[index]
            self.head_temperatures[index] = equilibrium + (current - equilibrium) * decay

    def _settle(self, lit: bool) -> None:
        cfg = self.config
        self.output = 1.0 if lit else 0.0
        self.head_temperatures = [
            cfg.ambient_c + cfg.pm1_heating_k * self.output,
            cfg.ambient_c + cfg.pm2_heating_k * self.output,
        ]
