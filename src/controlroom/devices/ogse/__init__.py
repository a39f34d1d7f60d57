"""OGSE (optical ground support equipment): driver and TCP simulator.

The driver (:class:`OGSEController`) commands the OGSE controller: power and
operate (the laser-driven lamp), the safety interlock, faults, a two-wheel
attenuator and two power meters. The simulator
(``python -m controlroom.devices.ogse.sim.server``) speaks the same line
protocol, serves one client at a time like the hardware, and lets ``SIGUSR1``
toggle the interlock.
"""

from controlroom.devices.ogse.driver import OGSEController
from controlroom.devices.ogse.replies import Interlock

__all__ = ["Interlock", "OGSEController"]
