"""The MQTT bridge: the facility's status, HK and limit events on an MQTT broker.

For the MQTT / Home Assistant world (home automation): every
server the bridge finds (core services from the Settings, everything in the
registry) is followed on its PUB endpoint, and under ``<prefix>/<site>``:

* each status and HK value goes to ``<server>/<parameter>`` (retained,
  QoS 1; numbers as plain text, structured values as JSON);
* limit events (and any other configured events) go to ``<server>/events``;
* ``bridge/availability`` is ``online``, with ``offline`` as last will, and
  ``<server>/availability`` follows each server's pings;
* Home Assistant discovery configs (one ``sensor`` per parameter, one device
  per server) go under the discovery prefix, again when Home Assistant says
  ``online`` on ``<discovery_prefix>/status``;
* a command published by broker user ``<user>`` on
  ``set/<user>/<server>/<command>`` runs on that user's behalf, with the role
  ``bridges.mqtt.users`` gives it, when ``bridges.mqtt.allow`` names it --
  and only when the bridge logs in with a username: without broker
  credentials no command topic is subscribed at all. The answer goes to
  ``result/<user>/<server>/<command>``. The broker's ACL keeps each user to
  its own name (see the README).

:class:`MqttBridge` runs it from a :class:`MqttConfig` (usually
``MqttConfig.from_settings(settings)``); every error is an :class:`MqttError`
(a ``BridgeError``).
"""

from controlroom.bridges.mqtt.announce import Announcer, sensor_config
from controlroom.bridges.mqtt.bridge import MqttBridge
from controlroom.bridges.mqtt.commands import CommandDesk, TokenBucket
from controlroom.bridges.mqtt.config import MqttConfig
from controlroom.bridges.mqtt.errors import MqttError, PayloadError
from controlroom.bridges.mqtt.payloads import encode_value, parse_arguments, result_payload
from controlroom.bridges.mqtt.relay import StateRelay
from controlroom.bridges.mqtt.topics import Topics
from controlroom.bridges.mqtt.units import Units, load_units

__all__ = [
    "Announcer",
    "CommandDesk",
    "MqttBridge",
    "MqttConfig",
    "MqttError",
    "PayloadError",
    "StateRelay",
    "TokenBucket",
    "Topics",
    "Units",
    "encode_value",
    "load_units",
    "parse_arguments",
    "result_payload",
    "sensor_config",
]
