"""One output of the simulated supply: regulation, slew, protections (pure, no I/O).

The output regulates to whichever limit binds first: with a load of ``R``
ohms it gives ``min(Vset, Iset·R)`` volts and ``V/R`` amperes — constant
voltage (CV) while the load draws less than the current limit, constant current
(CC) once it would draw more, where the voltage drops to ``Iset·R``. The
current loop acts at once; the voltage rises (and falls when programmed down)
at a finite slew rate, as the output capacitor charges.

Over-voltage protection (OVP) switches the output off when the output voltage
exceeds its level; the armed electronic fuse (OCP) switches it off once the
output has been in current limit for longer than its delay. A trip latches
until it is cleared; while latched the output cannot be switched on.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from controlroom.devices.psu.ratings import ChannelRating
from controlroom.devices.psu.sim.load import Load, ResistiveLoad

DEFAULT_AMPS = 1.0
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
    on: bool = False
    ovp_volts: float = 0.0
    ocp_armed: bool = False
    ocp_delay_s: float = 0.0
    ovp_tripped: bool = False
    ocp_tripped: bool = False
    volts: float = 0.0  # at the terminals now
    _in_limit_s: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.slew_v_per_s <= 0:
            raise ValueError(f"the slew rate must be positive, not {self.slew_v_per_s}")
        self.reset()

    def reset(self) -> None:
        """Power-up settings (``*RST``); the load stays connected."""
        self.volts_set, self.amps_set, self.on = 0.0, DEFAULT_AMPS, False
        self.ovp_volts = self.rating.max_ovp_volts
        self.ocp_armed, self.ocp_delay_s = False, 0.0
        self.ovp_tripped = self.ocp_tripped = False
        self.volts, self._in_limit_s = 0.0, 0.0

    @property
    def tripped(self) -> bool:
        return self.ovp_tripped or self.ocp_tripped

    @property
    def amps(self) -> float:
        """Output current now: what the load draws at the terminal voltage."""
        ohms = self.load.ohms
        return 0.0 if not self.on or math.isinf(ohms) else self.volts / ohms

    @property
    def cc_volts(self) -> float:
        """The voltage at which the load would draw the current limit."""
        return self.amps_set * self.load.ohms if not math.isinf(self.load.ohms) else math.inf

    @property
    def mode(self) -> str:
        """``"CV"``, ``"CC"`` or ``"OFF"``: which loop holds the output now."""
        if not self.on:
            return "OFF"
        limited = self.cc_volts < self.volts_set
        return "CC" if limited and self.volts >= self.cc_volts - _CC_TOLERANCE else "CV"

    def switch(self, on: bool) -> None:
        """Switch the output; the caller refuses ``on`` while a protection is latched."""
        self.on = on
        if not on:
            self.volts, self._in_limit_s = 0.0, 0.0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: slew, regulate, heat the load, check the protections."""
        if not self.on:
            self.load.advance(0.0, seconds)
            return
        # The load first, with the voltage it had during the step; then regulate to its new value.
        self.load.advance(self.volts, seconds)
        step = self.slew_v_per_s * seconds
        if self.volts < self.volts_set:
            self.volts = min(self.volts + step, self.volts_set)
        else:
            self.volts = max(self.volts - step, self.volts_set)
        self.regulate(seconds)

    def regulate(self, seconds: float = 0.0) -> None:
        """Apply the current limit and the protections now (after a setting or a load change).

        The current loop and the protections act within microseconds, far
        faster than anything a client can see, so they take no time here.
        """
        if not self.on:
            return
        self.volts = min(self.volts, self.cc_volts)
        if self.volts > self.ovp_volts:
            self.ovp_tripped = True
            self.switch(False)
            return
        if self.mode == "CC":
            self._in_limit_s += seconds
            if self.ocp_armed and self._in_limit_s >= self.ocp_delay_s:
                self.ocp_tripped = True
                self.switch(False)
        else:
            self._in_limit_s = 0.0

    def measure_volts(self, rng: random.Random) -> float:
        return self.volts + rng.gauss(0.0, VOLTS_NOISE) if self.on else 0.0

    def measure_amps(self, rng: random.Random) -> float:
        return max(self.amps + rng.gauss(0.0, AMPS_NOISE), 0.0) if self.on else 0.0
