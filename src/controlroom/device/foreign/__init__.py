"""Instruments whose driver comes from PyMeasure or QCoDeS, served as controlroom devices.

Thousands of instruments already have a driver in one of those libraries. A
device entry naming such a driver class (``pymeasure:`` or ``qcodes:`` instead
of ``controller:``) becomes a control server whose commands are the driver's
controls, measurements, parameters and methods, with their validators, units
and docs carried into the JSON Schema, and whose housekeeping is the readings
the entry chooses. Neither library is needed unless such a device is used
(extras ``[pymeasure]`` and ``[qcodes]``).
"""

from controlroom.device.foreign.build import ForeignCommand, ForeignController, foreign_class

__all__ = ["ForeignCommand", "ForeignController", "foreign_class"]
