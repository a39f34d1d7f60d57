"""A three-channel SCPI bench power supply: driver and TCP simulator.

The driver (:class:`PsuController`) speaks the SCPI subset that R&S HMP,
Keysight E36xx and Rigol DP800 supplies share, over a raw socket; the
simulator (``python -m controlroom.devices.psu.sim.server``) answers the same
commands with a load on each output, so constant-voltage / constant-current
transitions, output slew and OVP/OCP trips happen as they do on the bench.
"""

from controlroom.devices.psu.driver import OutputMode, PsuController

__all__ = ["OutputMode", "PsuController"]
