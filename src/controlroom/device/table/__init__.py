"""Instruments described by a YAML command table instead of Python.

Most lab instruments are a handful of SCPI or line commands. A table lists
them (arguments with types, ranges and choices, the string to send, how to
read the reply, units, which readings are housekeeping), and
:func:`controller_class` turns it into a controller served like any
``@command`` driver. :mod:`controlroom.device.table.simulated` answers the same
table as a simulator, for dry runs and tests.
"""

from controlroom.device.table.driver import TableController, controller_class
from controlroom.device.table.errors import TableError
from controlroom.device.table.files import find_table, load_table, read_table
from controlroom.device.table.model import Table, TableCommand, parse_table

__all__ = [
    "Table",
    "TableCommand",
    "TableController",
    "TableError",
    "controller_class",
    "find_table",
    "load_table",
    "parse_table",
    "read_table",
]
