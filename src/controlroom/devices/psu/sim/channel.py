"""One output of the simulated HMP4040: regulation, slew, power limit, protections (pure, no I/O).

The output regulates to whichever limit binds first: with a load of ``R``
ohms it gives ``min(Vset, Iset·R, √(P·R))`` volts and ``V/R`` amperes —
constant voltage (CV) while the load draws less than the current limit and
the power limit ``P`` (160 W, less when the four channels together would
exceed 384 W), constant current (CC) once it would draw more. The current
loop acts at once; the voltage rises (and falls when programmed down) at a
finite slew rate, as the output capacitor charges.

A channel delivers only while it is *active* (``OUTP:SEL``) and the master
output (``OUTP:GEN``) is on. Over-voltage protection (OVP) switches the
output off when its voltage exceeds the level; the armed electronic fuse once
the output has been in current limit for longer than its delay. Either trip
deactivates the channel. An OVP trip latches until ``VOLT:PROT:CLE``; a fuse
trip until the channel is switched again.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from controlroom.devices.psu.ratings import ChannelRating
from controlroom.devices.psu.sim.load import Load, ResistiveLoad

DEFAULT_AMPS = 1.0
DEFAULT_VOLTS_STEP = 1.0
DEFAULT_AMPS_STEP = 0.1
DEFAULT_SLEW_V_PER_S = 100.0
VOLTS_NOISE = 0.0005  # standard deviation of a voltage reading
AMPS_NOISE = 0.00005
_CC_TOLERANCE = 1e-9


@dataclass
class Channel:
    """One output, its settings, its state and the load on it."""

    rating: ChannelRating
    load: Load = field(default_factory=ResistiveLoad)
    slew_v_per_s: float = DEFAULT_SLEW_V_PER_S
    volts_set: float = 0.0
    amps_set: float = DEFAULT_AMPS
    volts_step: float = DEFAULT_VOLTS_STEP
    amps_step: float = DEFAULT_AMPS_STEP
    active: bool = False  # chosen for output with OUTP:SEL; delivers while the master is on
    on: bool = False  # delivering now
    ovp_volts: float = 0.0
    fuse_armed: bool = False
    fuse_delay_s: float = 0.0
    fuse_links: set[int] = field(default_factory=set)
    ovp_tripped: bool = False
    fuse_tripped: bool = False
    watts_limit: float = 0.0  # the rating, or this channel's share when the total is exceeded
    volts: float = 0.0  # at the terminals now
    _in_limit_s: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.slew_v_per_s <= 0:
            raise ValueError(f"the slew rate must be positive, not {self.slew_v_per_s}")
        self.reset()

    def reset(self) -> None:
        """Power-up settings (``*RST``); the load stays connected."""
        self.volts_set, self.amps_set = 0.0, DEFAULT_AMPS
        self.volts_step, self.amps_step = DEFAULT_VOLTS_STEP, DEFAULT_AMPS_STEP
        self.active = self.on = False
        self.ovp_volts = self.rating.max_ovp_volts
        self.fuse_armed, self.fuse_delay_s = False, 0.0
        self.fuse_links = set()
        self.ovp_tripped = self.fuse_tripped = False
        self.watts_limit = self.rating.max_watts
        self.volts, self._in_limit_s = 0.0, 0.0

    @property
    def amps(self) -> float:
        """Output current now: what the load draws at the terminal voltage."""
        ohms = self.load.ohms
        return 0.0 if not self.on or math.isinf(ohms) else self.volts / ohms

    @property
    def limit_volts(self) -> float:
        """The voltage at which the load would draw the current limit or the power limit."""
        ohms = self.load.ohms
        if math.isinf(ohms):
            return math.inf
        return min(self.amps_set * ohms, math.sqrt(self.watts_limit * ohms))

    @property
    def mode(self) -> str:
        """``"CV"``, ``"CC"`` or ``"OFF"``: which loop holds the output now."""
        if not self.on:
            return "OFF"
        limited = self.limit_volts < self.volts_set
        return "CC" if limited and self.volts >= self.limit_volts - _CC_TOLERANCE else "CV"

    def demand_watts(self) -> float:
        """The power the load would settle at within this channel's own limits.

        From the settings, not the voltage now: a share of the total computed
        from an output it already holds back would release it again.
        """
        ohms = self.load.ohms
        if not self.on or math.isinf(ohms):
            return 0.0
        own = min(self.volts_set, self.amps_set * ohms, math.sqrt(self.rating.max_watts * ohms))
        return own**2 / ohms

    def switch(self, on: bool) -> None:
        """Connect or disconnect the output (the state decides from active and master)."""
        self.on = on
        if not on:
            self.volts, self._in_limit_s = 0.0, 0.0

    def trip_fuse(self) -> None:
        self.fuse_tripped, self.active = True, False
        self.switch(False)

    def slew(self, seconds: float) -> None:
        """Let ``seconds`` pass: heat the load, move the voltage toward its setting."""
        # The load first, with the voltage it had during the step; regulation follows.
        self.load.advance(self.volts if self.on else 0.0, seconds)
        if not self.on:
            return
        step = self.slew_v_per_s * seconds
        if self.volts < self.volts_set:
            self.volts = min(self.volts + step, self.volts_set)
        else:
            self.volts = max(self.volts - step, self.volts_set)

    def regulate(self, seconds: float = 0.0) -> None:
        """Apply the current and power limits and the protections now.

        The current loop and the protections act within microseconds, far
        faster than anything a client can see, so they take no time here;
        ``seconds`` is how long the output has been as it is, for the fuse delay.
        """
        if not self.on:
            return
        self.volts = min(self.volts, self.limit_volts)
        if self.volts > self.ovp_volts:
            self.ovp_tripped, self.active = True, False
            self.switch(False)
            return
        if self.mode == "CC":
            self._in_limit_s += seconds
            if self.fuse_armed and self._in_limit_s >= self.fuse_delay_s:
                self.trip_fuse()
        else:
            self._in_limit_s = 0.0

    def measure_volts(self, rng: random.Random) -> float:
        return self.volts + rng.gauss(0.0, VOLTS_NOISE) if self.on else 0.0

    def measure_amps(self, rng: random.Random) -> float:
        return max(self.amps + rng.gauss(0.0, AMPS_NOISE), 0.0) if self.on else 0.0
