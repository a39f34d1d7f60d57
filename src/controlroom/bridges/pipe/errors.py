"""Errors of the pipe-command server; all are :class:`~controlroom.bridges.BridgeError`."""

from controlroom.bridges.errors import BridgeError


class PipeError(BridgeError):
    """The pipe-command server cannot start or run (bad settings, address in use)."""


class RequestRefused(PipeError):
    """One request cannot be served; its message is the text of the ``ERR`` reply."""
