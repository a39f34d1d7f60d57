"""Errors of the sensor-node bridge, under the package root :class:`BridgeError`."""

from __future__ import annotations

from controlroom.bridges.errors import BridgeError


class NodeBridgeError(BridgeError):
    """The node bridge cannot do what was asked (unknown node, bad line to send, not serving)."""


class LineError(NodeBridgeError):
    """A line from a node breaks the grammar; the reason names what was wrong."""
