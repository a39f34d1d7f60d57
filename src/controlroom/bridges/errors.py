"""Errors of ``controlroom.bridges``: one root, one class per bridge."""


class BridgeError(Exception):
    """Root of every error raised by ``controlroom.bridges``."""


class StatusFileError(BridgeError):
    """A status file cannot be watched (its directory is missing, the watcher is stopped)."""


class AcceptError(BridgeError):
    """An acknowledgement cannot be recorded (nothing to acknowledge, bad name, write failed)."""
