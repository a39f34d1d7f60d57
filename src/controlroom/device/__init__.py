"""The driver API: declare a device's commands once with ``@command``."""

from controlroom.device.command import command
from controlroom.device.errors import (
    ArgumentError,
    DeclarationError,
    DeviceError,
    DeviceTimeout,
    ReplyError,
    TransportError,
)
from controlroom.device.interface import Controller, Interface, commands_of
from controlroom.device.interrupt import Interrupted
from controlroom.device.replies import CommandRefused
from controlroom.device.spec import CommandSpec
from controlroom.device.validators import (
    choices,
    in_range,
    matches,
    max_length,
    one_of,
    unit,
)

__all__ = [
    "ArgumentError",
    "CommandRefused",
    "CommandSpec",
    "Controller",
    "DeclarationError",
    "DeviceError",
    "DeviceTimeout",
    "Interface",
    "Interrupted",
    "ReplyError",
    "TransportError",
    "choices",
    "command",
    "commands_of",
    "in_range",
    "matches",
    "max_length",
    "one_of",
    "unit",
]
