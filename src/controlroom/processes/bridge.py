"""The bridges as processes: the sensor-node bridge, the pipe-command server, the MQTT bridge.

``python -m controlroom.processes.bridge nodes|pipe|mqtt [--host H] [--port N] ...``
is what the process manager runs for the bridges a Setup asks for;
``controlroom nodes run``, ``pipe run`` and ``mqtt run`` serve the same in
the foreground. Each prints one ready line once it serves and stops cleanly
on SIGINT or SIGTERM; a bridge that cannot start raises its
:class:`~controlroom.bridges.BridgeError` (here: one line and exit code 1).
Each sends its records to the log manager. The node bridge is a control
server and gets what a device's gets: registration (once it serves, with
where nodes connect), metrics, its housekeeping and journal in storage, and
its data rows (one per STATUS or parsed DATA line) through a storage sender
of their own, with a queue sized for the node fleet. Every bridge is imported
when it is served, so a process holds only its own (MQTT needs paho).
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO, TypedDict, Unpack

from controlroom.bridges import BridgeError
from controlroom.config.settings import load_settings
from controlroom.processes.entry import (
    common_options,
    configure_logging,
    failures_in_one_line,
    log_level,
    ready_stream,
    stop_on_signals,
)
from controlroom.processes.links import Links, central_logs, context_links, metrics_host
from controlroom.rpc.curve import secure_process
from controlroom.rpc.endpoints import ServerEndpoints
from controlroom.rpc.process import READY_PREFIX

if TYPE_CHECKING:
    from controlroom.bridges.nodes import NodeBridge
    from controlroom.rpc import ControlServer

FLUSH_TIMEOUT_S = 30.0  # rows still queued for storage when the node bridge stops
DATA_INFO_KEY = "storage_rows"

log = logging.getLogger(__name__)


class BridgeLaunch(TypedDict, total=False):
    """What a bridge's process is given besides the Settings (None or left out: the Settings')."""

    host: str | None  # where it listens (the node and pipe bridges) or the broker (MQTT)
    port: int | None
    debug: bool
    handoff_stdout: bool  # after the ready line, stdout goes to stderr


class NodesLaunch(BridgeLaunch, ServerEndpoints, total=False):
    """The node bridge is a control server too: it also takes the endpoints to bind."""


def serve_nodes(settings: Mapping[str, Any], **launch: Unpack[NodesLaunch]) -> None:
    """Serve the node bridge until SIGINT, SIGTERM or ``quit``; ready line
    ``READY {name, commands, publish, nodes}`` first."""
    from controlroom.bridges.nodes import bridge_options, build_bridge_server

    level = log_level(launch.get("debug", False))
    configure_logging(level)
    options = bridge_options(settings, host=launch.get("host"), port=launch.get("port"))
    server, bridge = build_bridge_server(
        settings,
        options,
        endpoint=launch.get("endpoint"),
        pub_endpoint=launch.get("pub_endpoint"),
    )
    with node_links(server, bridge, settings, level=level) as attached:
        stop_on_signals(server.stopping)
        try:
            server.start()
            attached.add(_register_nodes(server, bridge, settings))  # with the port now bound
            ready = {"name": server.name, "commands": server.endpoint}
            ready |= {"publish": server.pub_endpoint, "nodes": bridge.nodes_url}
            _announce(ready, ready_stream(launch.get("handoff_stdout", False)))
            server.serve_forever()
        finally:
            server.stop()


def node_links(
    server: ControlServer, bridge: NodeBridge, settings: Mapping[str, Any], *, level: int
) -> Links:
    """Central logs, storage (HK and data rows) and metrics for the node bridge."""
    from controlroom.services.metrics import attach_metrics
    from controlroom.services.storage.attach import attach_storage
    from controlroom.services.storage.options import sender_options, storage_endpoint
    from controlroom.services.storage.sender import SenderOptions, StorageSender

    entry = (settings.get("bridges") or {}).get("nodes") or {}
    origin = str(entry.get("origin") or "NODES")
    attached, follower = context_links(server, settings, level=level)
    with attached.all_or_none():
        attached.add(attach_storage(server, settings, follower.current, origin=origin).stop)
        shared = sender_options(settings)
        options = SenderOptions(
            queue_rows=int(entry.get("queue_rows", 200_000)),
            batch_rows=int(entry.get("batch_rows", 5_000)),
            batch_delay_s=shared.batch_delay_s,
            timeout_s=shared.timeout_s,
        )
        rows = StorageSender(
            storage_endpoint(settings), f"{origin}_DATA", context=follower.current, options=options
        ).start()
        attached.add(lambda: rows.stop(FLUSH_TIMEOUT_S))
        bridge.add_sink(
            lambda record: rows.put(record.values, record.time, f"{origin}_{record.kind}"),
            backlog=lambda: int(rows.counters()["queued"]),
            drained=lambda: rows.sent + rows.refused,
            reachable=lambda: bool(rows.counters()["connected"]),
        )
        server.hooks.hk_sinks.append(
            lambda _: server.extra_info.update({DATA_INFO_KEY: rows.counters()})
        )
        attached.add(attach_metrics(server, host=metrics_host(settings), port=0).stop)
    return attached


def _register_nodes(
    server: ControlServer, bridge: NodeBridge, settings: Mapping[str, Any]
) -> Callable[[], None]:
    from controlroom.rpc.registration import attach_from_settings

    metadata = {"kind": "bridge", "bridge": "nodes", "nodes": bridge.nodes_url}
    return attach_from_settings(server, settings, metadata=metadata).stop


def serve_pipe(settings: Mapping[str, Any], **launch: Unpack[BridgeLaunch]) -> None:
    """Serve the pipe-command server until SIGINT or SIGTERM; ready line
    ``READY {name, url}`` (the actual port when 0) first."""
    from controlroom.bridges.pipe import PipeConfig, PipeServer

    configure_logging(log_level(launch.get("debug", False)))
    config = PipeConfig.from_settings(settings, host=launch.get("host"), port=launch.get("port"))
    server = PipeServer(config)
    ready = lambda: {"url": server.url}  # noqa: E731
    _serve_until_signalled("pipe", settings, server.start, server.stop, ready, launch=launch)


def serve_mqtt(settings: Mapping[str, Any], **launch: Unpack[BridgeLaunch]) -> None:
    """Run the MQTT bridge until SIGINT or SIGTERM; ready line ``READY {name, broker}``
    once connected. It runs whatever ``bridges.mqtt.enabled`` says (that key tells
    the process manager whether to start it)."""
    from controlroom.bridges.mqtt import MqttBridge, MqttConfig, load_units

    configure_logging(log_level(launch.get("debug", False)))
    config = MqttConfig.from_settings(settings, host=launch.get("host"), port=launch.get("port"))
    bridge = MqttBridge(config, units=load_units(settings))

    def start() -> None:
        bridge.start()
        if not config.commands_enabled:
            log.info("no broker username in bridges.mqtt: command topics are not subscribed")

    ready = lambda: {"broker": config.broker}  # noqa: E731
    _serve_until_signalled("mqtt", settings, start, bridge.stop, ready, launch=launch)


def _serve_until_signalled(
    name: str,
    settings: Mapping[str, Any],
    start: Callable[[], object],
    stop: Callable[[], None],
    ready: Callable[[], dict[str, Any]],
    *,
    launch: BridgeLaunch,
) -> None:
    """Start, announce ``{name, **ready()}``, wait for SIGINT or SIGTERM, stop (also after
    a failed start); the records go to the log manager meanwhile."""
    with central_logs(settings, name, level=log_level(launch.get("debug", False))):
        stopping = stop_on_signals(threading.Event())
        try:
            start()
            _announce({"name": name, **ready()}, ready_stream(launch.get("handoff_stdout", False)))
            stopping.wait()
        finally:
            stop()


def _announce(ready: Mapping[str, Any], stream: TextIO) -> None:
    print(READY_PREFIX + json.dumps(ready), file=stream, flush=True)


BRIDGES: dict[str, Callable[..., None]] = {
    "nodes": serve_nodes,
    "pipe": serve_pipe,
    "mqtt": serve_mqtt,
}


def main(argv: list[str] | None = None) -> None:
    """Serve the bridge named first in ``argv``; exit 1 with one line if it cannot start."""
    parser = argparse.ArgumentParser(description="A controlroom bridge.")
    names = parser.add_subparsers(dest="bridge", required=True, metavar="NAME")
    common = common_options()
    for name in BRIDGES:
        bridge = names.add_parser(name, parents=[common])
        bridge.add_argument("--host", help=f"address (default: bridges.{name}.host)")
        bridge.add_argument("--port", type=int, help=f"port (default: bridges.{name}.port)")
        if name == "nodes":
            bridge.add_argument("--endpoint", help="command endpoint (default: Settings)")
            bridge.add_argument("--pub-endpoint", help="publish endpoint (default: Settings)")
    options = vars(parser.parse_args(argv))
    serve = BRIDGES[options.pop("bridge")]
    with failures_in_one_line(options["debug"], BridgeError):
        settings = load_settings()
        secure_process(settings)
        serve(settings, **options)


if __name__ == "__main__":
    main()
