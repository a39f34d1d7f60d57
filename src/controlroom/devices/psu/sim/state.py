"""The state of the simulated HMP4040: its channels, the master output, errors and status.

Whatever a command changed, :meth:`PsuState.regulate` brings the outputs in
line at once: a channel delivers while it is active and the master output is
on; the four share the 384 W the supply can deliver in total (when the loads
would take more, each channel's power limit shrinks in proportion to what it
takes); a tripped fuse also switches off the delivering channels linked to it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from controlroom.device.simkit.scpi import ErrorQueue, Status
from controlroom.devices.psu.ratings import CHANNELS, MODEL, RATINGS, TOTAL_WATTS
from controlroom.devices.psu.sim.channel import DEFAULT_SLEW_V_PER_S, Channel
from controlroom.devices.psu.sim.load import Load, parse_load

MANUFACTURER = "ROHDE&SCHWARZ"  # units sold before the rebranding answer HAMEG
FIRMWARE = "HW50020003/SW2.70"

DEFAULT_LOADS = {1: "10", 2: "lamp:2:12:12:0.5", 3: "5", 4: "3"}
"""10 ohm; a 12 V 12 W lamp (6 A inrush when cold); 5 ohm; 3 ohm (power limited above 21.9 V)."""


@dataclass
class PsuState:
    """Everything the SCPI handlers read and change."""

    channels: dict[int, Channel]
    identity: str
    rng: random.Random
    selected: int = 1
    master: bool = False  # OUTP:GEN
    control: str = "LOC"  # front panel, remote, mixed or remote with the panel locked
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
        identity = f"{MANUFACTURER},{MODEL},{serial},{FIRMWARE}"
        return cls(channels=channels, identity=identity, rng=random.Random(seed))

    @property
    def channel(self) -> Channel:
        """The selected channel."""
        return self.channels[self.selected]

    def reset(self) -> None:
        """``*RST``: every channel to power-up settings, master off, channel 1 selected."""
        for channel in self.channels.values():
            channel.reset()
        self.selected, self.master = 1, False

    def regulate(self, seconds: float = 0.0) -> None:
        """Let every output react to what changed; ``seconds`` counts toward fuse delays."""
        for channel in self.channels.values():
            wanted = channel.active and self.master
            if channel.on != wanted:
                channel.switch(wanted)
        self._share_total_power()
        tripped_before = {n for n, ch in self.channels.items() if ch.fuse_tripped}
        for channel in self.channels.values():
            channel.regulate(seconds)
        self._trip_linked_fuses(tripped_before)

    def advance(self, seconds: float) -> None:
        for channel in self.channels.values():
            channel.slew(seconds)
        self.regulate(seconds)

    def _share_total_power(self) -> None:
        demands = {n: ch.demand_watts() for n, ch in self.channels.items()}
        total = sum(demands.values())
        for number, channel in self.channels.items():
            share = demands[number] * TOTAL_WATTS / total if total > TOTAL_WATTS else None
            channel.watts_limit = channel.rating.max_watts if share is None else share

    def _trip_linked_fuses(self, tripped_before: set[int]) -> None:
        # A linked channel's trip passes on to its own links in turn.
        pending = [
            n for n, ch in self.channels.items() if ch.fuse_tripped and n not in tripped_before
        ]
        while pending:
            for linked in sorted(self.channels[pending.pop()].fuse_links):
                channel = self.channels[linked]
                if channel.on:
                    channel.trip_fuse()
                    pending.append(linked)
