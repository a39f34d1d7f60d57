"""Keithley DAQ6510 with two thermocouple/RTD multiplexer cards: driver and TCP simulator.

The driver (:class:`DaqController`) speaks the DAQ6510's SCPI for two 7700
cards (channels 101-120 and 201-220): channel configuration, the scan list,
integration time in power-line cycles, the scan count, ``INIT`` and the
reading buffer (``TRAC:DATA?``), and single-channel ``MEAS:TEMP?``. The
simulator (``python -m controlroom.devices.daq.sim.server``) answers the
manual's commands from a thermal model of the simulated setup.
"""

from controlroom.devices.daq.arguments import TcType, TempUnit, Transducer
from controlroom.devices.daq.driver import DaqController
from controlroom.devices.daq.replies import DaqError, ScanTimeout

__all__ = [
    "DaqController",
    "DaqError",
    "ScanTimeout",
    "TcType",
    "TempUnit",
    "Transducer",
]
