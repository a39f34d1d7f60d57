"""What the simulated DAQ6510 keeps per channel and per setup (pure, no I/O).

Values are stored as the instrument answers them: the short SCPI forms
(``TC``, ``FRTD``, ``CELS``, ``INT``). A channel that measures temperature
has a :class:`ChannelConfig`; a channel without one has no function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlroom.devices.daq.sim.lab import WIRING

DEFAULT_BUFFER = "defbuffer1"
DEFAULT_NPLC = 1.0
MIN_NPLC = 0.0005
MAX_NPLC = {50.0: 12.0, 60.0: 15.0}
"""The longest integration is 240 ms at either line frequency."""
ZERO_CELSIUS = 273.15


@dataclass
class ChannelConfig:
    """How one channel measures temperature, with the instrument's factory values."""

    transducer: str = "TC"
    tc_type: str = "K"
    unit: str = "CELS"
    nplc: float = DEFAULT_NPLC
    open_detector: bool = False
    reference: str = "INT"
    simulated_reference: float = 23.0  # degrees Celsius
    rtd_type: str = "PT100"
    thermistor: str = "5000"
    switches: dict[str, bool] = field(default_factory=dict)
    """Settings kept and answered but without effect on a reading (auto zero, line sync)."""


@dataclass
class Setup:
    """What ``*SAV``/``*RCL`` keep: channel settings and the scan."""

    channels: dict[int, ChannelConfig] = field(default_factory=dict)
    scan_list: list[int] = field(default_factory=list)
    scan_count: int = 1
    scan_interval: float = 0.0
    scan_buffer: str = DEFAULT_BUFFER
    restart: bool = False


def lab_setup() -> Setup:
    """The setup saved in slot 0 and recalled at power-on: every wired sensor, in kelvin.

    Thermocouples have open-lead detection on, so a broken one reads as overflow.
    """
    channels = {
        channel: ChannelConfig(
            transducer=sensor.transducer,
            tc_type=sensor.tc_type,
            unit="KELV",
            open_detector=sensor.transducer == "TC",
        )
        for channel, sensor in WIRING.items()
    }
    return Setup(channels=channels, scan_list=sorted(WIRING))


def to_unit(kelvin: float, unit: str) -> float:
    if unit == "CELS":
        return kelvin - ZERO_CELSIUS
    if unit == "FAHR":
        return (kelvin - ZERO_CELSIUS) * 1.8 + 32.0
    return kelvin


def unit_name(unit: str) -> str:
    """The ``UNIT`` buffer element of a temperature reading."""
    return {"CELS": "Celsius", "FAHR": "Fahrenheit", "KELV": "Kelvin"}[unit]


def unit_symbol(unit: str) -> str:
    return {"CELS": "C", "FAHR": "F", "KELV": "K"}[unit]
