"""What one channel reads, given the sensor wired to it and how the channel is set (pure).

A thermocouple measures the difference between its junction and the card's
terminals, which sit in the rack: the card's cold-junction sensor adds the
terminal temperature back (``RJUN:RSEL INT``), a simulated reference adds a
fixed one instead. Read with the table of another thermocouple type, the
voltage converts to a wrong temperature in the ratio of the two types'
sensitivities. An open thermocouple reads overflow with open-lead detection on;
without it the floating input reads about zero volts, i.e. the reference
temperature, noisily. A 2-wire RTD reads its leads' resistance as well; a
sensor read as a kind of transducer it is not gives overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controlroom.devices.daq.replies import OVERFLOW
from controlroom.devices.daq.sim.config import ZERO_CELSIUS, ChannelConfig, to_unit
from controlroom.devices.daq.sim.lab import WIRING
from controlroom.devices.daq.sim.thermal import ThermalNetwork
from controlroom.devices.tempctl.sim.physics import gaussian

TERMINALS_NODE = "rack"
NOISE_K_AT_1_NPLC = {"TC": 0.03, "RTD": 0.006, "TRTD": 0.004, "FRTD": 0.003, "THER": 0.003}
"""Reading noise (kelvin rms); it falls with the square root of the integration time."""
FLOATING_NOISE_K = 0.5
SEEBECK_UV_PER_K = {
    "B": 0.3,
    "E": 61.0,
    "J": 52.0,
    "K": 41.0,
    "N": 27.0,
    "R": 6.0,
    "S": 6.0,
    "T": 41.0,
}
"""Sensitivities near room temperature; their ratio scales a reading of the wrong type."""
TWO_WIRE_LEAD_K = 0.5
"""About 0.2 ohm of leads in series with a Pt100 (0.385 ohm/K)."""
RTD_FAMILY = frozenset({"RTD", "TRTD", "FRTD"})
PLAUSIBLE_K = (0.0, 2100.0)


@dataclass(frozen=True)
class Sample:
    """One reading and whether the instrument could make it."""

    value: float
    overflow: bool


def sense(
    lab: ThermalNetwork,
    channel: int,
    config: ChannelConfig,
    *,
    is_open: bool,
    seed: int,
    count: int,
) -> Sample:
    """The reading of ``channel`` now, in its unit; ``count`` numbers the draws of noise."""
    sensor = WIRING.get(channel)
    noise = gaussian(seed, channel, count)
    sigma = NOISE_K_AT_1_NPLC[config.transducer] / math.sqrt(config.nplc)
    if config.transducer == "TC":
        terminals = lab.temperature(TERMINALS_NODE)
        reference = (
            config.simulated_reference + ZERO_CELSIUS if config.reference == "SIM" else terminals
        )
        if sensor is None or is_open or sensor.transducer != "TC":
            if config.open_detector or (sensor is not None and not is_open):
                return Sample(OVERFLOW, True)
            return Sample(to_unit(reference + FLOATING_NOISE_K * noise, config.unit), False)
        ratio = SEEBECK_UV_PER_K[sensor.tc_type] / SEEBECK_UV_PER_K[config.tc_type]
        kelvin = reference + ratio * (lab.temperature(sensor.node) - terminals)
    elif sensor is None or is_open or sensor.transducer not in RTD_FAMILY:
        return Sample(OVERFLOW, True)  # an open RTD or thermistor is out of every range
    elif config.transducer not in RTD_FAMILY:
        return Sample(OVERFLOW, True)
    else:
        kelvin = lab.temperature(sensor.node)
        kelvin += TWO_WIRE_LEAD_K if config.transducer == "RTD" else 0.0
    kelvin += sigma * noise
    if not PLAUSIBLE_K[0] < kelvin < PLAUSIBLE_K[1]:
        return Sample(OVERFLOW, True)
    return Sample(to_unit(kelvin, config.unit), False)
