"""Home Assistant MQTT discovery: one ``sensor`` per parameter, one device per server.

Each parameter the bridge publishes is announced once, when its first value
arrives, with a retained config on
``<discovery_prefix>/sensor/<node_id>/<parameter>/config``; every config
is sent again when Home Assistant says ``online`` on
``<discovery_prefix>/status`` (it restarted and may have lost them).

A sensor is available when both the bridge and its server are
(``availability_mode: all``): a bridge that died leaves the servers' own
availability topics as they were, its last will tells the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import controlroom
from controlroom.bridges.mqtt.payloads import is_number, to_json
from controlroom.bridges.mqtt.topics import Topics, slug
from controlroom.bridges.mqtt.units import Units

Publish = Callable[[str, str, int, bool], None]
MANUFACTURER = "controlroom"


def sensor_config(
    topics: Topics, server: str, parameter: str, *, unit: str = "", numeric: bool = False
) -> dict[str, Any]:
    """The discovery config of one parameter of one server."""
    node = topics.node_id(server)
    config: dict[str, Any] = {
        "name": parameter,
        "unique_id": f"{node}_{slug(parameter)}",
        "state_topic": topics.state(server, parameter),
        "availability": [
            {"topic": topics.bridge_availability},
            {"topic": topics.availability(server)},
        ],
        "availability_mode": "all",
        "device": {
            "identifiers": [node],
            "name": f"{server} ({topics.site})",
            "manufacturer": MANUFACTURER,
            "model": "control server",
            "sw_version": controlroom.__version__,
        },
        "origin": {"name": MANUFACTURER, "sw_version": controlroom.__version__},
    }
    if unit:
        config["unit_of_measurement"] = unit
    if numeric:  # lets Home Assistant keep long-term statistics
        config["state_class"] = "measurement"
    return config


class Announcer:
    """Announces each new parameter once and all of them again on request; thread-safe."""

    def __init__(self, topics: Topics, units: Units, publish: Publish) -> None:
        self.topics = topics
        self.units = units
        self._publish = publish
        self._configs: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def seen(self, server: str, parameter: str, value: Any) -> None:
        """A value of ``parameter`` arrived: announce the parameter if it is new."""
        key = (server, parameter)
        with self._lock:
            if key in self._configs:
                return
            config = sensor_config(
                self.topics,
                server,
                parameter,
                unit=self.units.unit(server, parameter),
                numeric=is_number(value),
            )
            payload = self._configs[key] = to_json(config)
        self._publish(self.topics.sensor_config(server, parameter), payload, 1, True)

    def announce_all(self) -> int:
        """Send every config again (Home Assistant came online); returns how many."""
        with self._lock:
            configs = list(self._configs.items())
        for (server, parameter), payload in configs:
            self._publish(self.topics.sensor_config(server, parameter), payload, 1, True)
        return len(configs)

    def announced(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._configs)
