"""Errors of the MQTT bridge: one root, a ``BridgeError``."""

from controlroom.bridges.errors import BridgeError


class MqttError(BridgeError):
    """The MQTT bridge cannot run: bad configuration, broker unreachable or refusing us."""


class PayloadError(MqttError):
    """A command's topic or payload cannot be used; the bridge answers it with an error result."""
