"""What each output of the simulated three-channel supply can deliver (driver and simulator agree).

The ratings follow the usual triple-output bench supply: two 32 V tracking
channels for analogue circuits and a low-voltage channel for logic. The
over-voltage protection may be set up to 10 % above a channel's voltage rating.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = (1, 2, 3)
OVP_HEADROOM = 1.1


@dataclass(frozen=True)
class ChannelRating:
    """The largest setting an output accepts."""

    max_volts: float
    max_amps: float

    @property
    def max_ovp_volts(self) -> float:
        return round(self.max_volts * OVP_HEADROOM, 3)


RATINGS: dict[int, ChannelRating] = {
    1: ChannelRating(max_volts=32.0, max_amps=3.0),
    2: ChannelRating(max_volts=32.0, max_amps=3.0),
    3: ChannelRating(max_volts=6.0, max_amps=3.0),
}

MAX_VOLTS = max(r.max_volts for r in RATINGS.values())
MAX_AMPS = max(r.max_amps for r in RATINGS.values())
MAX_OVP_VOLTS = max(r.max_ovp_volts for r in RATINGS.values())
MAX_OCP_DELAY_S = 10.0
