"""A Rohde & Schwarz HMP4040 four-channel power supply: driver and TCP simulator.

The driver (:class:`PsuController`) speaks the HMP series' own SCPI over a raw
socket; the simulator (``python -m controlroom.devices.psu.sim.server``)
answers the same commands, as the HMP manual gives them, with a load on each
output, so constant-voltage / constant-current transitions, the 160 W and
384 W power limits, output slew, OVP and fuse trips happen as on the bench.
"""

from controlroom.devices.psu.driver import PsuController
from controlroom.devices.psu.exchanges import OutputMode

__all__ = ["OutputMode", "PsuController"]
