"""State of the simulated DAQ: channel settings, scan list, the scan in progress (pure, no I/O).

Simulated time is ``now`` (seconds since power-on). A scan is a list of
moments, one per channel and sweep, each at the end of that channel's
integration; as time passes each moment takes its reading from the thermal
model *at that moment*, so a long scan sees the temperatures move under it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from controlroom.device.simkit.scpi import ErrorQueue, ErrorWording, ScpiError, Status
from controlroom.devices.daq.replies import OVERFLOW
from controlroom.devices.daq.sim.lab import WIRING
from controlroom.devices.daq.sim.thermal import ThermalNetwork
from controlroom.devices.tempctl.sim.physics import gaussian

SWITCH_S = 0.004
"""Relay closing and settling before each channel's integration starts."""
NOISE_K_AT_1_NPLC = {"TC": 0.03, "RTD": 0.006, "FRTD": 0.003}
"""Reading noise (kelvin rms); it falls with the square root of the integration time."""
ZERO_CELSIUS = 273.15
QUEUE_DEPTH = 20
KEITHLEY = ErrorWording(depth=QUEUE_DEPTH, signed=True, separator="; ", names_header=True)
"""``+0,"No error"``, ``-221,"Settings conflict; channel 205"``; twenty entries deep."""


@dataclass
class ChannelConfig:
    """How one channel measures temperature."""

    transducer: str = "TC"
    tc_type: str = "K"
    unit: str = "K"
    nplc: float = 1.0


@dataclass
class Setup:
    """What ``*SAV``/``*RCL`` keep: channel settings, scan list and scan count."""

    channels: dict[int, ChannelConfig] = field(default_factory=dict)
    scan_list: list[int] = field(default_factory=list)
    scan_count: int = 1


def lab_setup() -> Setup:
    """The setup stored in slot 0 and recalled at power-on: every wired sensor, scanned."""
    channels = {
        ch: ChannelConfig(sensor.transducer, sensor.tc_type) for ch, sensor in WIRING.items()
    }
    return Setup(channels=channels, scan_list=sorted(WIRING))


@dataclass
class ScanRun:
    """One ``INIT``: when each reading is made, and the readings made so far."""

    moments: list[tuple[float, int]]
    readings: list[float] = field(default_factory=list)
    aborted: bool = False

    @property
    def end(self) -> float:
        return self.moments[-1][0]

    @property
    def done(self) -> bool:
        return self.aborted or len(self.readings) == len(self.moments)


class DaqState:
    """Everything the command handlers read and change."""

    def __init__(self, lab: ThermalNetwork, identity: str, *, seed: int = 0, line_hz: float = 50.0):
        self.lab = lab
        self.identity = identity
        self.seed = seed
        self.line_hz = line_hz
        self.status = Status(ErrorQueue(KEITHLEY))
        self.setup = lab_setup()
        self.saved: dict[int, Setup] = {0: lab_setup()}
        self.open_sensors: set[int] = set()
        self.run: ScanRun | None = None
        self.now = 0.0
        self.wait: Callable[[float], None] = self.advance_to
        """Block until a simulated time; the simulator makes it take real time."""
        self._readings_made = 0

    def advance_to(self, moment: float) -> None:
        """Bring the model to ``moment``, making every scan reading that falls due on the way."""
        run = self.run
        while run is not None and not run.done and run.moments[len(run.readings)][0] <= moment:
            due, channel = run.moments[len(run.readings)]
            self._advance_lab(due)
            run.readings.append(self.read(channel))
        self._advance_lab(moment)
        self.now = max(self.now, moment)

    def pause(self, seconds: float) -> None:
        """The instrument is busy for ``seconds`` of simulated time."""
        self.wait(self.now + seconds)

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.done

    def config(self, channel: int) -> ChannelConfig:
        """The settings of a channel that measures temperature; -221 for any other."""
        found = self.setup.channels.get(channel)
        if found is None:
            raise ScpiError(-221, f"channel {channel} is not configured for temperature")
        return found

    def channel_time(self, channel: int) -> float:
        """Simulated seconds one reading of ``channel`` takes: switching, then integration."""
        return SWITCH_S + self.config(channel).nplc / self.line_hz

    def start_scan(self) -> None:
        if self.running:
            raise ScpiError(-213, "a scan is running")
        if not self.setup.scan_list:
            raise ScpiError(-221, "the scan list is empty")
        moments: list[tuple[float, int]] = []
        moment = self.now
        for _ in range(self.setup.scan_count):
            for channel in self.setup.scan_list:
                moment += self.channel_time(channel)
                moments.append((moment, channel))
        self.run = ScanRun(moments)

    def require_idle(self) -> None:
        if self.running:
            raise ScpiError(-221, "a scan is running")

    def read(self, channel: int) -> float:
        """One reading of ``channel`` now, in its unit; the overflow value for an open sensor."""
        config = self.config(channel)
        sensor = WIRING.get(channel)
        if sensor is None or channel in self.open_sensors:
            return OVERFLOW
        self._readings_made += 1
        sigma = NOISE_K_AT_1_NPLC[config.transducer] / math.sqrt(config.nplc)
        kelvin = self.lab.temperature(sensor.node)
        kelvin += sigma * gaussian(self.seed, channel, self._readings_made)
        return to_unit(kelvin, config.unit)

    def reset(self) -> None:
        """``*RST``: factory settings; no channel measures temperature; readings are cleared."""
        self.setup = Setup()
        self.run = None

    def recall(self, slot: int) -> None:
        self.require_idle()
        if slot not in self.saved:
            raise ScpiError(-221, f"no setup saved in slot {slot}")
        self.setup = copy.deepcopy(self.saved[slot])

    def save(self, slot: int) -> None:
        self.saved[slot] = copy.deepcopy(self.setup)

    def _advance_lab(self, moment: float) -> None:
        self.lab.advance(max(moment - self.lab.elapsed, 0.0))


def to_unit(kelvin: float, unit: str) -> float:
    if unit == "C":
        return kelvin - ZERO_CELSIUS
    if unit == "F":
        return (kelvin - ZERO_CELSIUS) * 1.8 + 32.0
    return kelvin
