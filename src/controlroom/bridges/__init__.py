"""Bridges: connect controlroom to things that do not speak its protocol.

The first bridge is the watched status file: a small device or
script writes a value to a file, every open panel sees the new value at once,
and an operator's acknowledgement is written back to an accept file.

* :class:`StatusFileWatcher` delivers each new content of the status file,
  parsed into a :class:`StatusContent`, to a callback on its own thread.
* :class:`AcceptFile` records an :class:`Acknowledgement` atomically.
* Every error is a :class:`BridgeError`.
"""

from controlroom.bridges.acceptfile import AcceptFile, Acknowledgement
from controlroom.bridges.errors import AcceptError, BridgeError, StatusFileError
from controlroom.bridges.statuscontent import StatusContent, parse_status, read_status
from controlroom.bridges.statusfile import StatusFileWatcher

__all__ = [
    "AcceptError",
    "AcceptFile",
    "Acknowledgement",
    "BridgeError",
    "StatusContent",
    "StatusFileError",
    "StatusFileWatcher",
    "parse_status",
    "read_status",
]
