"""Lake Shore Model 336 temperature controller: driver and TCP simulator.

The driver (:class:`TempCtlController`) speaks the 336's remote interface over
TCP; the simulator (``python -m controlroom.devices.tempctl.sim.server``)
implements the same command set with a thermal model, so software written for
a real 336 works against it unchanged.
"""

from controlroom.devices.tempctl.driver import (
    HeaterRange,
    HeaterStatus,
    OutputMode,
    TempCtlController,
)

__all__ = ["HeaterRange", "HeaterStatus", "OutputMode", "TempCtlController"]
