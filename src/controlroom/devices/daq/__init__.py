"""Scanning DAQ with thermocouple/RTD multiplexer cards: driver and TCP simulator.

The driver (:class:`DaqController`) speaks the SCPI of a Keithley DAQ6510 with
two 20-channel cards (channels 101-120 and 201-220): channel configuration,
scan list, integration time in power-line cycles, scan count, ``INIT`` /
``FETC?`` and single-channel ``MEAS:TEMP?``. The simulator
(``python -m controlroom.devices.daq.sim.server``) answers the same commands
from a thermal model of the simulated setup.
"""

from controlroom.devices.daq.driver import DaqController, TcType, TempUnit, Transducer
from controlroom.devices.daq.replies import DaqError, ScanTimeout

__all__ = [
    "DaqController",
    "DaqError",
    "ScanTimeout",
    "TcType",
    "TempUnit",
    "Transducer",
]
