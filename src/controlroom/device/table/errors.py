"""The one error of command tables."""

from controlroom.device.errors import DeclarationError


class TableError(DeclarationError):
    """A command table is not valid or cannot be read; the message names the key at fault."""
