"""The sensor-node bridge (after COSMICi): many nodes speaking lines of text over TCP.

* :mod:`.grammar`: the line grammar (``HELLO``, ``HB``, ``STATUS``, ``LOG``, ``DATA``);
* :mod:`.parsers`: DATA lines by node type (:class:`ParserRegistry`);
* :mod:`.network`: the model of the node network (:class:`NodeNetwork`);
* :mod:`.server`: the asyncio TCP server; :mod:`.bridge`: :class:`NodeBridge`,
  the interface a control server serves; :mod:`.serve`: built from the Settings;
* :mod:`.backlog`: telling a storage backlog that stopped draining;
* :mod:`.fleet`: a simulated fleet of nodes (``python -m controlroom.bridges.nodes.fleet``).
"""

from controlroom.bridges.nodes.bridge import STREAM_TOPIC, NodeBridge, NodeBridgeOptions
from controlroom.bridges.nodes.errors import LineError, NodeBridgeError
from controlroom.bridges.nodes.grammar import parse_line
from controlroom.bridges.nodes.intake import NodeRecord, RecordSink
from controlroom.bridges.nodes.network import NodeNetwork, NodeState
from controlroom.bridges.nodes.parsers import Field, FieldParser, ParserRegistry, default_parsers
from controlroom.bridges.nodes.serve import bridge_options, build_bridge_server

__all__ = [
    "STREAM_TOPIC",
    "Field",
    "FieldParser",
    "LineError",
    "NodeBridge",
    "NodeBridgeError",
    "NodeBridgeOptions",
    "NodeNetwork",
    "NodeRecord",
    "NodeState",
    "ParserRegistry",
    "RecordSink",
    "bridge_options",
    "build_bridge_server",
    "default_parsers",
    "parse_line",
]
