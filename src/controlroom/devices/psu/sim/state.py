"""The state of the simulated supply: its channels, the selected one, errors and status."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from controlroom.device.simkit.scpi import ErrorQueue, Status
from controlroom.devices.psu.ratings import CHANNELS, RATINGS
from controlroom.devices.psu.sim.channel import DEFAULT_SLEW_V_PER_S, Channel
from controlroom.devices.psu.sim.load import Load, parse_load

IDENTITY = "CONTROLROOM,SIM-PSU3,{serial},1.0"

DEFAULT_LOADS = {1: "10", 2: "lamp:2:12:12:0.5", 3: "5"}
"""A 10 ohm resistor, a 12 V 12 W lamp (inrush of 6 A when cold), a 5 ohm resistor."""


@dataclass
class PsuState:
    """Everything the SCPI handlers read and change."""

    channels: dict[int, Channel]
    identity: str
    rng: random.Random
    selected: int = 1
    status: Status = field(default_factory=lambda: Status(ErrorQueue()))

    @classmethod
    def create(
        cls,
        *,
        loads: Mapping[int, Load] | None = None,
        slew_v_per_s: float | None = None,
        serial: str = "000001",
        seed: int = 0,
    ) -> PsuState:
        loads = dict(loads or {})
        unknown = set(loads) - set(CHANNELS)
        if unknown:
            raise ValueError(f"no channel {sorted(unknown)}: the supply has {CHANNELS}")
        slew = DEFAULT_SLEW_V_PER_S if slew_v_per_s is None else slew_v_per_s
        channels = {}
        for number in CHANNELS:
            load = loads.get(number) or parse_load(DEFAULT_LOADS[number])
            channels[number] = Channel(RATINGS[number], load=load, slew_v_per_s=slew)
        identity = IDENTITY.format(serial=serial)
        return cls(channels=channels, identity=identity, rng=random.Random(seed))

    @property
    def channel(self) -> Channel:
        """The selected channel."""
        return self.channels[self.selected]

    def reset(self) -> None:
        """``*RST``: every channel to power-up settings, channel 1 selected."""
        for channel in self.channels.values():
            channel.reset()
        self.selected = 1

    def regulate(self) -> None:
        """Let every output react to what a command just changed (no time passes)."""
        for channel in self.channels.values():
            channel.regulate()

    def advance(self, seconds: float) -> None:
        for channel in self.channels.values():
            channel.advance(seconds)
