"""What the four outputs of an R&S HMP4040 can deliver (driver and simulator agree).

The data sheet gives every channel 0-32 V and 0-10 A, but at most 160 W, so
the full 10 A only up to 16 V and 5 A at 32 V; the four channels together
deliver at most 384 W. Over the remote interface a setting may go a little
beyond the nameplate (``VOLT? MAX`` is 32.050 V, ``CURR? MAX`` 10.010 A), and
the over-voltage protection may be set up to 33 V. The electronic fuse waits
up to 250 ms in current limit before it trips.
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL = "HMP4040"
CHANNELS = (1, 2, 3, 4)
TOTAL_WATTS = 384.0
MAX_FUSE_DELAY_MS = 250


@dataclass(frozen=True)
class ChannelRating:
    """The largest settings one output accepts, and the power it can deliver."""

    max_volts: float = 32.050
    max_amps: float = 10.010
    max_watts: float = 160.0
    max_ovp_volts: float = 33.0


RATING = ChannelRating()
RATINGS: dict[int, ChannelRating] = dict.fromkeys(CHANNELS, RATING)

MAX_VOLTS = RATING.max_volts
MAX_AMPS = RATING.max_amps
MAX_OVP_VOLTS = RATING.max_ovp_volts
MAX_FUSE_DELAY_S = MAX_FUSE_DELAY_MS / 1000
