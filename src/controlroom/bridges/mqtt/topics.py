"""The topic scheme: every topic the bridge publishes or listens to, built in one place.

Under ``<prefix>/<site>``:

* ``<server>/<parameter>`` -- the latest status or HK value (retained);
* ``<server>/events`` -- the server's events, such as limit crossings (not retained);
* ``<server>/availability`` -- ``online``/``offline`` from pings (retained);
* ``bridge/availability`` -- the bridge itself, ``offline`` being its last will;
* ``set/<user>/<server>/<command>`` -- a command request by the broker user
  ``<user>``; ``result/<user>/<server>/<command>`` its answer.

The broker user is in the request topic because MQTT does not tell a
subscriber who published: the broker's ACL lets each user publish under its
own name only (``pattern write <prefix>/+/set/%u/#``), so the name in the
topic is the one the broker authenticated.

A name is one topic level: the characters MQTT gives a meaning to (``/``,
``+``, ``#``, NUL) become ``_``. Home Assistant's discovery topics want ids of
``[A-Za-z0-9_-]`` only: see :func:`slug`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EVENTS, AVAILABILITY, SET, RESULT = "events", "availability", "set", "result"
BRIDGE = "bridge"
ONLINE, OFFLINE = "online", "offline"
# A parameter of these names would land on a topic the bridge uses for something else.
RESERVED_PARAMETERS = frozenset({EVENTS, AVAILABILITY})

_NOT_IN_A_LEVEL = re.compile(r"[/+#\x00]")
_NOT_IN_AN_ID = re.compile(r"[^A-Za-z0-9_-]")


def level(name: object) -> str:
    """``name`` as one topic level (never empty, never a wildcard)."""
    return _NOT_IN_A_LEVEL.sub("_", str(name)) or "_"


def slug(name: object) -> str:
    """``name`` as a Home Assistant id: letters, digits, ``_`` and ``-`` only."""
    return _NOT_IN_AN_ID.sub("_", str(name)) or "_"


@dataclass(frozen=True)
class Request:
    """A command request as its topic says: who asked, which server, which command."""

    user: str  # the broker user (the ACL lets each publish under its own name only)
    server: str
    command: str


@dataclass(frozen=True)
class Topics:
    """The topics of one bridge: ``prefix`` (may have several levels) and the site."""

    prefix: str
    site: str
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{level(self.site)}"

    def state(self, server: str, parameter: str) -> str:
        return f"{self.base}/{level(server)}/{level(parameter)}"

    def events(self, server: str) -> str:
        return f"{self.base}/{level(server)}/{EVENTS}"

    def availability(self, server: str) -> str:
        return f"{self.base}/{level(server)}/{AVAILABILITY}"

    @property
    def bridge_availability(self) -> str:
        return f"{self.base}/{BRIDGE}/{AVAILABILITY}"

    @property
    def command_filter(self) -> str:
        """The subscription that takes every command request, of every user."""
        return f"{self.base}/{SET}/+/+/+"

    def request(self, user: str, server: str, command: str) -> str:
        """Where broker user ``user`` publishes a request for ``server``'s ``command``."""
        return f"{self.base}/{SET}/{level(user)}/{level(server)}/{level(command)}"

    def result(self, user: str, server: str, command: str) -> str:
        """Where the answer to ``user``'s request goes."""
        return f"{self.base}/{RESULT}/{level(user)}/{level(server)}/{level(command)}"

    def parse_set(self, topic: str) -> Request | None:
        """The request a command topic stands for; None for any other topic."""
        head = f"{self.base}/{SET}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 3 or not all(parts):
            return None
        return Request(*parts)

    @property
    def homeassistant_status(self) -> str:
        """Where Home Assistant says ``online`` when it (re)starts."""
        return f"{self.discovery_prefix}/status"

    def node_id(self, server: str) -> str:
        """The Home Assistant id of a server (its device): unique per prefix, site and server."""
        return slug(f"{self.prefix}_{self.site}_{server}")

    def sensor_config(self, server: str, parameter: str) -> str:
        return f"{self.discovery_prefix}/sensor/{self.node_id(server)}/{slug(parameter)}/config"
